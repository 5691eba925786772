"""Learning Rate Lab: the one entry point. It routes to the pages (and makes sure the server
hardening of ui/guard.py is installed in this process).

The page modules live in app_pages/, not pages/: Streamlit 1.67 still treats a
folder named pages/ as its old automatic navigation, which shows a wrong menu and
a "Page not found" dialog on a process's first visit to a deep link.
"""

import streamlit as st

from ui import guard, keyboard
from ui.lesson_pages import lesson_pages

guard.install()  # server hardening, once per process (ui/guard.py); a no-op after that

st.set_page_config(page_title="Learning Rate Lab", page_icon="📉", layout="wide")
st.navigation({
    "Learning Rate Lab": [
        st.Page("app_pages/home.py", title="Home", icon=":material/home:", default=True),
        st.Page("app_pages/playground.py", title="Playground", icon=":material/tune:", url_path="playground"),
    ],
    "Find a good rate": [
        st.Page("app_pages/schedules.py", title="Schedules", icon=":material/schedule:",
                url_path="schedules"),
        st.Page("app_pages/grid_search.py", title="Grid search", icon=":material/grid_on:",
                url_path="grid-search"),
        st.Page("app_pages/lr_finder.py", title="LR range test", icon=":material/search:",
                url_path="lr-finder"),
        st.Page("app_pages/stability_maps.py", title="Stability maps", icon=":material/blur_on:",
                url_path="stability-maps"),
    ],
    "Networks": [
        st.Page("app_pages/train_network.py", title="Network training", icon=":material/neurology:",
                url_path="network-training"),
        st.Page("app_pages/finetune.py", title="Fine-tuning", icon=":material/model_training:",
                url_path="fine-tuning"),
    ],
    "Course": [st.Page("app_pages/lessons.py", title="Lessons", icon=":material/list:", url_path="lessons"),
               st.Page("app_pages/classroom.py", title="Classroom", icon=":material/groups:",
                       url_path="classroom"),
               *lesson_pages()],
}).run()
keyboard.enable()  # Play/Pause and the step slider by keyboard; chart toolbars out of the tab order
