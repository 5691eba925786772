"""Home: what the app teaches, and a map of every page with a link to each."""

import streamlit as st

from ui.lesson_pages import numbered_lesson_pages


def entry(page, label: str, icon: str, what: str, **link) -> None:
    """A short link (labels are cut to one line) and one line of what the page is for."""
    st.page_link(page, label=f"**{label}**", icon=icon, **link)
    st.markdown(what)


st.title("Learning Rate Lab")
st.markdown(
    "The learning rate decides how far each step of gradient descent moves: too small and "
    "training crawls or settles in the nearest dip, too large and it overshoots, oscillates or "
    "blows up. Here you change the rate yourself and watch each of those happen on real runs."
)

numbered = numbered_lesson_pages()
lessons = [page for _, page in numbered]
course = [page for order, page in numbered if order < 99]

left, right = st.columns(2, gap="large")
with left:
    st.header("The course")
    if course:
        entry(course[0], f"Start here: {course[0].title}", ":material/play_arrow:",
              f"{len(course)} short lessons with live experiments, predictions and quizzes.")
    entry("app_pages/lessons.py", "Lessons", ":material/list:",
          "Every lesson with its objectives and minutes, and what you have done so far.")
    with st.expander("Every lesson"):
        for page in lessons:
            st.page_link(page, label=page.title, icon=page.icon)
    if course:
        entry(course[0], "Presenter mode", ":material/co_present:",
              "For teaching: a lesson one section per screen, with Previous/Next (arrow keys "
              "work too). Add `?present=1` to any lesson's address.", query_params={"present": "1"})
    entry("app_pages/classroom.py", "Classroom", ":material/groups:",
          "Teach live: start a class, students join by code or QR, vote on each prediction and "
          "follow your slides.")

    st.header("Playground")
    entry("app_pages/playground.py", "Playground", ":material/tune:",
          "Pick a surface and up to four rates, and watch gradient descent run.")

with right:
    st.header("Find a good rate")
    entry("app_pages/schedules.py", "Schedules", ":material/schedule:",
          "Change the rate during training (warmup, step, cosine) against a constant rate.")
    entry("app_pages/grid_search.py", "Grid search", ":material/grid_on:",
          "Many rates on a log scale, run at once; the best one picked and explained.")
    entry("app_pages/lr_finder.py", "LR range test", ":material/search:",
          "Grow the rate during one run and read a good rate off the loss curve.")
    entry("app_pages/stability_maps.py", "Stability maps", ":material/blur_on:",
          "Where rates converge, oscillate or diverge, against momentum, condition number "
          "and batch size.")

    st.header("Networks")
    entry("app_pages/train_network.py", "Network training", ":material/neurology:",
          "A small neural network on a bundled data set, at up to four rates.")
    entry("app_pages/finetune.py", "Fine-tuning", ":material/model_training:",
          "Pre-train on one task, fine-tune on another, and measure what each rate keeps.")
