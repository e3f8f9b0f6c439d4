"""Renderers: pure functions from a Plan (or an apply report) to text."""
