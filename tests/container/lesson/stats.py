# The lesson's SPUC plugin: GET /stats, summary statistics of the sightings.
import os

import pandas as pd

from __main__ import app, file_path


@app.route("/stats", methods=["GET"])
def stats():
    if not os.path.exists(file_path):
        return {"message": "No unicorn sightings yet!"}
    with open(file_path) as f:
        df = pd.read_csv(f)
    df = df.iloc[:, 1:]
    return df.describe().to_json()
