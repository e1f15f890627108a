"""Title: Profile a frame and list its data-quality issues
Description: Types, missing shares, distinct values, statistics; then the problems to fix.
Needs: conn, a published table
"""

from mlaccel import data, explore

sample = data.read_table("mlaccel_lake", "used_cars", connection=conn)
profile = explore.profile(sample)
issues = explore.issues_frame(explore.find_quality_issues(sample, id_columns=("record_id",)))
issues
