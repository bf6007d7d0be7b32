"""Read-only queries behind the dashboard, one module per concern.

Nothing here writes to the database. The pages format what these functions
return; the numbers are the stored ones, never recomputed from scratch.

- `usage`: the key figures of the front page
- `runs`: the list of runs, one run's history, progress and headline numbers
- `gates`: the retraining gate's verdict as the pages show it
- `versions`: what the model pages say of a version; the retraining status
- `heatmap`: count matrices as heatmap cells
- `artifacts`: a run's exported files, found only inside the model folders
- `comparison`: runs side by side
- `results`: held-out sets, calibration, previews and the int8 model of a run
"""
