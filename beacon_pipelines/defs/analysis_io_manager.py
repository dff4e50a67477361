"""Where bias_analysis is kept between its step and the report's: one pickle per audit partition
($DAGSTER_HOME/storage/bias_analysis/<audit_id>), written to a temporary file and renamed, so a
reader never sees a half-written value (two analyses of one audit may overlap)."""

from __future__ import annotations

from dagster import ConfigurableIOManagerFactory, InitResourceContext
from dagster._core.storage.fs_io_manager import PickledObjectFilesystemIOManager
from pydantic import Field

from beacon_pipelines.atomic_file import write_atomically


class AtomicPickleIOManager(PickledObjectFilesystemIOManager):
    def load_partitions(self, context):
        # An asset check of bias_analysis is asked for every audit partition (Dagster 1.13 maps
        # a check's input to the whole asset): it needs only the audit its run is for.
        if context.has_partition_key and context.partition_key in context.asset_partition_keys:
            path = self._get_paths_for_partitions(context)[context.partition_key]
            return self.load_from_path(context, path)
        return super().load_partitions(context)

    def dump_to_path(self, context, obj, path) -> None:
        dump = super().dump_to_path
        write_atomically(path, lambda partial: dump(context, obj, partial))


class AnalysisIOManager(ConfigurableIOManagerFactory):
    base_dir: str | None = Field(
        default=None, description="Folder of the stored values; empty: the instance's storage."
    )

    def create_io_manager(self, context: InitResourceContext) -> AtomicPickleIOManager:
        return AtomicPickleIOManager(base_dir=self.base_dir or context.instance.storage_directory())
