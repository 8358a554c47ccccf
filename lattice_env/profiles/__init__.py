"""Profiles and generations in Nix's layout: the links (links.py), generations and profiles
(generations.py), and building then switching (switch.py)."""
