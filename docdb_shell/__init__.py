"""The parts of the ``docdb`` command (``shell.py`` holds its click commands).

``script`` splits text into statements with their positions; ``render`` prints
results in the output modes; ``session`` runs statements for the shell and keeps
its settings; ``dotcommands`` are the shell's ``.commands``; ``runner`` feeds lines
of a script or a terminal through both; ``transfer`` imports, exports and dumps;
``demo`` fills the demo database; ``repl`` is the interactive prompt
(prompt_toolkit). They use docdb's public API only, as ``shell.py`` does.
"""
