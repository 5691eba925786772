"""Home: what the app teaches, and a map of every page with a link to each."""

import streamlit as st

from ui.lesson_pages import numbered_lesson_pages

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
    st.subheader("The course")
    st.markdown(f"{len(course)} short lessons, each with live experiments, a prediction to make "
                "before a run and a quiz.")
    if course:
        st.page_link(course[0], label=f"Start here: {course[0].title}", icon=":material/play_arrow:")
    st.page_link("app_pages/lessons.py", label="Lessons: the list, with your progress",
                 icon=":material/list:")
    with st.expander("Every lesson"):
        for page in lessons:
            st.page_link(page, label=page.title, icon=page.icon)
    if course:
        st.markdown("**Teaching with it?** Presenter mode shows a lesson one section per "
                    "screen, with large text and Previous/Next (arrow keys work too).")
        st.page_link(course[0], label="Open lesson 1 in presenter mode",
                     icon=":material/co_present:", query_params={"present": "1"})

    st.subheader("Playground")
    st.page_link("app_pages/playground.py", label="Playground: pick a surface and up to four "
                 "rates, and watch gradient descent run", icon=":material/tune:")

with right:
    st.subheader("Find a good rate")
    tools = [
        ("app_pages/schedules.py", "Schedules: change the rate during training (warmup, step, "
         "cosine) and compare with a constant rate", ":material/schedule:"),
        ("app_pages/grid_search.py", "Grid search: try many rates on a log scale and see which "
         "converges fastest", ":material/grid_on:"),
        ("app_pages/lr_finder.py", "LR range test: raise the rate during one run and read a good "
         "rate off the loss curve", ":material/search:"),
        ("app_pages/stability_maps.py", "Stability maps: where rates converge, oscillate or "
         "diverge, against momentum, condition number and batch size", ":material/blur_on:"),
    ]
    for path, label, icon in tools:
        st.page_link(path, label=label, icon=icon)

    st.subheader("Networks")
    st.page_link("app_pages/train_network.py", label="Network training: a small neural network on "
                 "a bundled data set, at up to four rates", icon=":material/neurology:")
    st.page_link("app_pages/finetune.py", label="Fine-tuning: pre-train on one task, fine-tune "
                 "on another, and measure what each rate keeps", icon=":material/model_training:")
