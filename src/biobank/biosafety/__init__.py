"""Biosafety: infectious biological materials under the animal regime (動物感染性生物材料管理辦法,
BS rules) and the human regime (感染性生物材料管理辦法, HP rules). ``rules`` holds the decisions;
``data/regimes.json`` the numbers of each regime."""
