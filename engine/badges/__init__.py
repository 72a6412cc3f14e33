"""Badges: catalogue definitions plugins supply, and issuing them to participants."""
