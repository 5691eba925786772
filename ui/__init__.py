"""Shared Streamlit widgets, URL state and runtime set-up for the pages."""
