"""The dataset model every data source produces, the readers of labs' file formats, and the dataset folder.

- :mod:`synlib.data.model`: :class:`~synlib.data.model.Dataset` and
  :class:`~synlib.data.model.Trial`, checked when loaded (:class:`~synlib.data.model.DataError`
  names the file, participant, trial and muscle at fault);
- :mod:`synlib.data.readers`: delimited text, the ``.exp`` export, C3D, MATLAB ``.mat``;
- :mod:`synlib.data.folder`: the folder a fork fills (``data/README.md``), read, written and
  built from file names.

The names below are importable from ``synlib.data`` directly.
"""

from synlib.data.folder import (
    METADATA_FILE,
    TRIAL_FILE_FORMATS,
    TRIALS_FILE,
    TRUTH_SYNERGIES_FILE,
    is_dataset_folder,
    read_dataset_folder,
    read_trial_file,
    trials_from_pattern,
    write_dataset_folder,
)
from synlib.data.model import (
    MIN_TRIAL_SECONDS,
    REQUIRED_META,
    DataError,
    Dataset,
    DataWarning,
    Trial,
    check_muscle_names,
    check_same_muscles,
    check_sampling_rate,
    sha256_of,
    validate_trial,
    validate_trials,
)
from synlib.data.readers import read_c3d, read_delimited, read_exp, read_mat

__all__ = [
    "Dataset", "Trial", "DataError", "DataWarning", "REQUIRED_META", "MIN_TRIAL_SECONDS",
    "check_muscle_names", "check_same_muscles", "check_sampling_rate", "validate_trial", "validate_trials",
    "sha256_of", "read_delimited", "read_exp", "read_c3d", "read_mat",
    "METADATA_FILE", "TRIALS_FILE", "TRUTH_SYNERGIES_FILE", "TRIAL_FILE_FORMATS",
    "is_dataset_folder", "read_dataset_folder", "read_trial_file", "trials_from_pattern", "write_dataset_folder",
]
