"""The lesson index: each lesson's minutes, objectives and the student's progress."""

import streamlit as st

from lessons.loader import load_all
from ui import progress as prog
from ui.lesson_pages import lesson_pages

st.title("Lessons")
st.markdown("Work through them in order, at your own pace. Each lesson's stated claims, the "
            "numbers it prints and its quiz answers that can be computed are checked against "
            "its runs by the test suite; change the rates and see for yourself.")
p = prog.current()
pages = {page.url_path: page for page in lesson_pages()}
lessons = load_all()
done = sum(1 for lesson in lessons if lesson.order in p.seen and lesson.order < 99)
total = sum(1 for lesson in lessons if lesson.order < 99)
st.progress(done / max(total, 1), text=f"{done} of {total} lessons visited")
for lesson in lessons:
    right, answered = p.score(lesson.order)
    with st.container(border=True):
        top, status = st.columns([4, 1])
        top.page_link(pages[lesson.slug], label=f"**{pages[lesson.slug].title}**",
                      icon=":material/check_circle:" if lesson.order in p.seen else ":material/school:")
        status.caption(f"{lesson.minutes} min" + (f" · quiz {right}/{answered}" if answered else ""))
        if lesson.objectives:
            st.markdown("\n".join(f"- {o}" for o in lesson.objectives))
        if lesson.errors:
            st.error(f"{len(lesson.errors)} problem(s) in this lesson file; open it to see them.")
if st.button("Start over", help="Forget which lessons you visited and your quiz answers"):
    prog.reset()
    st.rerun()
prog.save(p)
