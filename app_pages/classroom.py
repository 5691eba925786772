"""Classroom: an instructor starts a class (join code, link, QR code, presenter links); a student
joins by code or link and is taken to wherever the instructor is presenting."""

import streamlit as st

from store.classroom import CODE_LENGTH, NotHost, RoomError
from ui import classroom as cls
from ui.heap import freeze_after_warm_up
from ui.lesson_pages import numbered_lesson_pages

st.title("Classroom")
m = cls.membership()


def start_class() -> None:
    room, token = cls.classroom().create_room()
    cls.leave()
    st.query_params.from_dict({"room": room.code, "host": token})


def host_view(m: cls.Membership) -> None:
    """The instructor's dashboard: what students need to join, presenter links, end the class."""
    if {k: st.query_params.get(k) for k in st.query_params} != m.query():
        st.query_params.from_dict(m.query())  # back from another page: the URL is kept
    join = cls.join_url(m.code)
    left, right = st.columns(2, gap="large")
    with left:
        st.markdown("Students join at")
        st.markdown(f"<div style='font-size:1.6rem'>{join.split('://', 1)[-1].split('?')[0]}</div>",
                    unsafe_allow_html=True)
        st.markdown("with the code")
        cls.big_code(m.code)
        st.markdown("or open this link (or scan the code):")
        st.code(join, language=None, wrap_lines=True)
        if any(h in join for h in ("//localhost", "//127.0.0.1", "//0.0.0.0")):
            st.warning("This address only works on this computer. For students' phones, open the app "
                       "at its network address (the one `streamlit run` prints as Network URL) and "
                       "start the class there.", icon=":material/wifi_off:")
        cls.present_count(m.code)
    with right:
        st.image(cls.qr_png(join), caption=f"Join class {m.code}", width="stretch")

    st.header("Present a lesson")
    numbered = [(order, page) for order, page in numbered_lesson_pages()]
    names = {page.url_path: page for _, page in numbered}
    current = m.room.lesson if m.room.lesson in names else numbered[0][1].url_path
    slug = st.selectbox("Lesson", list(names), index=list(names).index(current),
                        format_func=lambda s: names[s].title, key="classroom_lesson")
    section = str(m.room.section) if slug == m.room.lesson else "1"
    st.page_link(names[slug], label=f"**Start presenting: {names[slug].title}**",
                 icon=":material/co_present:",
                 query_params={"present": "1", "section": section, **m.query()})
    st.caption("Presenter mode shows the join code in a corner, each prediction's votes as they "
               "arrive, and a Reveal button; your Previous/Next moves every student along.")

    st.header("Your instructor link")
    st.markdown("It opens this page as the instructor: bookmark it, and keep it to yourself (it can "
                "move the class, reveal answers and end the class). Students never need it.")
    st.code(cls.host_url(m.code, m.token), language=None, wrap_lines=True)

    st.header("End the class")
    confirm = st.checkbox("Yes, end it now: the code stops working for everyone", key="classroom_end_ok")
    if st.button("End the class", icon=":material/logout:", disabled=not confirm):
        try:
            cls.classroom().close_room(m.code, m.token)
        except (NotHost, RoomError) as e:
            st.error(str(e))
            return
        cls.leave()
        st.query_params.clear()
        st.session_state["classroom_ended"] = m.code
        st.rerun()


def student_view(m: cls.Membership) -> None:
    """A student in a class: taken to the presenter's lesson as soon as there is one."""
    st.success(f"You are in class **{m.code}**. Keep this page open: it follows the instructor.",
               icon=":material/groups:")
    st.query_params.from_dict(m.query())
    cls.follow(m.code, m.student, None, 1)
    if st.button("Leave the class", icon=":material/logout:"):
        cls.leave()
        st.query_params.clear()
        st.rerun()


def start_or_join() -> None:
    ended = st.session_state.pop("classroom_ended", None)
    if ended:
        st.info(f"The class {ended} has ended.")
    teach, join = st.columns(2, gap="large")
    with teach:
        st.header("Teach")
        st.markdown("Start a class: students join with a short code or a QR code, vote on each "
                    "prediction from their phones, and follow your slides.")
        if st.button("Start a class", icon=":material/add:"):
            start_class()
            st.rerun()
    with join:
        st.header("Join")
        with st.form("join", border=False):
            typed = st.text_input("Class code", max_chars=32, placeholder="e.g. K7M2QX",
                                  help=f"{CODE_LENGTH} letters and digits, from your instructor")
            joined = st.form_submit_button("Join", icon=":material/login:")
        if joined:
            try:
                room = cls.classroom().room(typed)
            except RoomError as e:
                st.error(str(e))
                return
            cls.leave()
            st.query_params.from_dict({"room": room.code})
            st.rerun()


if m is None:
    start_or_join()
elif m.host:
    host_view(m)
else:
    student_view(m)
freeze_after_warm_up("classroom")  # cheap gc after every run (ui.heap): the dashboard polls
