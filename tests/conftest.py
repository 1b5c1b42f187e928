"""Test-wide settings: GUI tests run offscreen, nothing reaches the network."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
