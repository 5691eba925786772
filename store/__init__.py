"""Shared state across sessions and processes (classroom rooms and votes), over SQLAlchemy.

No Streamlit here: the pages reach it through ui/classroom.py.
"""
