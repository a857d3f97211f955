"""Datasets for the training engine: built-in, synthetic and user files, as in-memory numpy arrays.

    from graph_engine.data import load_dataset, split, augment
    ds = load_dataset({"name": "digits"}, input_shape=(1, 8, 8))
    train, val = split(ds, 0.2, seed=0)

Importing this package imports numpy only: scikit-learn, Pillow and torch are imported where they are used.
"""

from graph_engine.data.base import (
    AUGMENT_PARAMS,
    KINDS,
    TASKS,
    Dataset,
    DatasetError,
    augment,
    autoencoder_targets,
    check_augment_config,
    reshape_to,
    split,
)
from graph_engine.data.registry import (
    DATASETS,
    DEFAULT_DATASET,
    DataParamKind,
    DatasetInfo,
    dataset_info,
    dataset_names,
    load_dataset,
    resolve_dataset_params,
)

__all__ = [
    "AUGMENT_PARAMS",
    "DATASETS",
    "DEFAULT_DATASET",
    "KINDS",
    "TASKS",
    "DataParamKind",
    "Dataset",
    "DatasetError",
    "DatasetInfo",
    "augment",
    "autoencoder_targets",
    "check_augment_config",
    "dataset_info",
    "dataset_names",
    "load_dataset",
    "reshape_to",
    "resolve_dataset_params",
    "split",
]
