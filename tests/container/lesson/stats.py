# The lesson's SPUC plugin: GET /stats, summary statistics of the sightings.
# SPUC imports every file in /spuc/plugins from its own script (spuc.py, run
# as __main__), so the plugin reaches SPUC's Flask app there.
import os

import pandas as pd

import __main__

app = __main__.app
file_path = getattr(__main__, "file_path", "/spuc/output/unicorn_sightings.txt")


@app.route("/stats", methods=["GET"])
def stats():
    if not os.path.exists(file_path):
        return {"message": "No unicorn sightings yet!"}
    with open(file_path) as f:
        df = pd.read_csv(f)
    df = df.iloc[:, 1:]
    return df.describe().to_json()
