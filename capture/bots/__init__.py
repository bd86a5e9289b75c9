"""Meeting bots: platform URLs, the bot state machine (and, to come, the browser bot itself)."""
