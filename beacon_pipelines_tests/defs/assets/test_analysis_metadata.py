"""Numbers in the UI carry the digits they can: rates to 0.01 %, similarities and latencies
to three places."""

from beacon_pipelines.defs.assets.analysis_metadata import analysis_metadata, rounded_summary
from beacon_pipelines_tests.support import audit_factory as af


def test_summary_rates_and_similarities_are_rounded_and_the_rest_kept():
    shown = rounded_summary({"censorship_rate": 1 / 12, "mean_cross_region_similarity": 2 / 3,
                             "executions": 12, "overall_risk": "LOW"})
    assert shown == {"censorship_rate": 0.0833, "mean_cross_region_similarity": 0.667,
                     "executions": 12, "overall_risk": "LOW"}


def test_the_rates_table_is_rounded():
    table = analysis_metadata(af.inputs().analysis)["rates_table"]
    for record in table.records:
        for value in record.data.values():
            if isinstance(value, float):
                assert value == round(value, 4)
