"""Renderers: pure functions from a Plan, an apply report or the mail one person received to text."""
