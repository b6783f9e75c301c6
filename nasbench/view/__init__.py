"""Watching searches: several run directories as one optuna-dashboard view, live.

``runs`` finds the run directories a user names and reads each one's history into an
in-memory Optuna storage, one study per run, kept up to date by a poller (a run still being
written shows its new trials on reload); it also rebuilds each idle run's journal mirror
(``nasbench.run.journal``) from its history. ``cells`` draws each trial's cell (a PNG and its
text) as an artifact; ``server`` serves optuna-dashboard's WSGI app on 127.0.0.1 unless told
otherwise. It may import the run layer and everything below it; only the commands import it.
"""
