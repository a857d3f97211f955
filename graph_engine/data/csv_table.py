"""A CSV table as a Dataset, read by pyarrow's streaming CSV reader with bounded memory.

Rules (unchanged from the hand-written reader this replaces): the first row names the columns; `target` picks
the label column (default: the last one). Every other column must be numeric (a text column is refused,
naming it); values may have spaces around them; blank lines are skipped. Features are standardised by default
and the mean/std are kept on the Dataset. The task is inferred: a text target, or a target of whole numbers
with at most 20 distinct values, is classification (classes sorted, names kept); other numbers are regression
(standardised too when `standardize` is on). `task` overrides the inference.

Memory. The file is read in blocks of `BLOCK_SIZE` bytes; each block's cells are converted at once (pyarrow
compute, no Python object per cell) and written into one float32 array allocated for the whole file (its rows
estimated from the first block's bytes per row, and that estimate checked against `limits.memory_budget()`
before anything is allocated); only the target column's text is kept beside it. The peak is measured in
benchmarks/README.md and tests/engine/test_data_size_guards.py; the old reader held the whole text, every
row as Python strings and a float64 copy (16x the file).

Precision. Features are kept in float32 as differences from the first block's column means (a float64
shift), so a column such as Unix timestamps keeps its resolution through standardisation; mean and standard
deviation are accumulated in float64 (Chan's pairwise update). A value whose magnitude float32 cannot hold
(beyond 3.4e38) is refused, naming the column, instead of turning the column into infinities or zeros.

Hostile files. A NUL byte (a binary or sparse file) or a line longer than `MAX_LINE_BYTES` ends the read
with a clear error before the rest of the file is read. Content is quoted in messages
only for files named as tables (see files.py).
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

import numpy as np

from graph_engine.data.base import Dataset, DatasetError
from graph_engine.data.builtin import standardise
from graph_engine.data.files import file_error, may_quote, need_file
from graph_engine.data.limits import check_fits

MAX_AUTO_CLASSES = 20  # a whole-number target with at most this many values is a classification target
MAX_CLASSES = 1000
DELIMITERS = {"auto": None, "comma": ",", "semicolon": ";", "tab": "\t", "pipe": "|"}
BLOCK_SIZE = 4 << 20
HEAD_BYTES = 64 << 10
MAX_LINE_BYTES = 16 << 20
FLOAT32_MAX = float(np.finfo(np.float32).max)


def load_csv(path: Path, target: str | None = None, task: str = "auto", standardize: bool = True,
             delimiter: str = "auto") -> Dataset:
    path = Path(path)
    need_file(path, "CSV file", "check the path (relative paths start at the project file's folder)")
    return _CsvReader(path, target, task, standardize, DELIMITERS.get(delimiter)).read()


class _CsvReader:
    def __init__(self, path: Path, target: str | None, task: str, standardize: bool, delimiter: str | None):
        self.path = path
        self.quote = may_quote(path)
        self.target = target
        self.task = task
        self.standardize = standardize
        self.delimiter = delimiter
        self.header: list[str] = []
        self.t_col = -1
        self.features: list[int] = []
        self.rows = 0  # data rows read so far
        self.X = np.empty((0, 0), dtype=np.float32)  # float32 [capacity, features], minus `shift`
        self.targets: list[Any] = []  # pyarrow string arrays, trimmed
        self.shift: np.ndarray | None = None
        self.count = 0
        self.mean: np.ndarray | None = None
        self.m2: np.ndarray | None = None
        self.ragged: tuple[int | None, int, int] | None = None
        self.row_offset = 0

    # ---- messages --------------------------------------------------------------------------------------

    def err(self, message: str, hint: str = "") -> DatasetError:
        return file_error(message, self.path, hint)

    def col(self, j: int) -> str:
        """A column as messages name it: its header name for a table file, else its number."""
        return repr(self.header[j]) if self.quote and self.header else f"number {j + 1}"

    def shown(self, value: str) -> str:
        if not self.quote:
            return ""
        value = value if len(value) <= 30 else value[:27] + "..."
        return f" holds {value!r}"

    # ---- reading ---------------------------------------------------------------------------------------

    def read(self) -> Dataset:
        import pyarrow as pa

        try:
            with open(self.path, "rb") as fh:
                head = fh.read(HEAD_BYTES)
                fh.seek(0)
                text = self._head_text(head)
                if not text.strip():
                    raise self.err("CSV file is empty",
                                   "the first row must name the columns, the next rows hold the data")
                delimiter = self.delimiter or _sniff(text)
                width = _count_fields(text, delimiter)
                for piece in self._pieces(fh):
                    self._parse(piece, delimiter, width)
        except pa.ArrowInvalid as exc:
            raise self._parse_error(str(exc)) from None
        except OSError as exc:
            raise self.err(f"cannot read the CSV file ({exc.strerror or exc})", "check the file's permissions") from None
        if not self.header:
            raise self.err("CSV file is empty", "the first row must name the columns, the next rows hold the data")
        if not self.rows:
            raise self.err("CSV file has a header row but no data rows", "add rows of data below the header")
        return self._dataset()

    def _pieces(self, fh: Any) -> Any:
        """The file in pieces of about BLOCK_SIZE bytes that end at a line end, each parsed on its own so that
        pyarrow never reads ahead (its streaming reader buffers the whole file). A NUL byte or a line longer
        than MAX_LINE_BYTES is refused here, before it is buffered."""
        rest = b""
        while True:
            chunk = fh.read(BLOCK_SIZE)
            if b"\0" in chunk:
                raise self.err("the file holds NUL bytes, so it is not a text CSV file (a binary or sparse file?)",
                               "export the table as CSV text (UTF-8)")
            if not chunk:
                if rest:
                    yield rest
                return
            end = chunk.rfind(b"\n")
            if end < 0:
                rest += chunk
                if len(rest) > MAX_LINE_BYTES:
                    raise self.err(f"the file has a line longer than {MAX_LINE_BYTES >> 20} MiB, so it is not a "
                                   "CSV table", "check the file; one row per line")
                continue
            yield rest + chunk[:end + 1]
            rest = chunk[end + 1:]

    def _parse(self, piece: bytes, delimiter: str, width: int) -> None:
        import pyarrow as pa
        from pyarrow import csv as pa_csv

        self.row_offset = self.rows + (1 if self.header else 0)
        table = pa_csv.read_csv(
            pa.py_buffer(piece),
            read_options=pa_csv.ReadOptions(autogenerate_column_names=True, use_threads=False,
                                            block_size=len(piece) + 1),
            parse_options=pa_csv.ParseOptions(delimiter=delimiter, invalid_row_handler=self._on_ragged),
            convert_options=pa_csv.ConvertOptions(column_types={f"f{j}": pa.string() for j in range(width)},
                                                  strings_can_be_null=False, quoted_strings_can_be_null=False))
        if table.num_columns != (len(self.header) or table.num_columns):
            raise self._ragged_piece(table.num_columns)
        self._take([c.combine_chunks() for c in table.columns])

    def _ragged_piece(self, got: int) -> DatasetError:
        # A piece starting with a row of another width: pyarrow takes the width from the piece's first row.
        return self.err(f"row {self.rows + 2} has {got} values but the header names {len(self.header)} columns",
                        "every row needs one value per column (is the delimiter right?)")

    def _head_text(self, head: bytes) -> str:
        if b"\0" in head:
            raise self.err("the file holds NUL bytes, so it is not a text CSV file (a binary or sparse file?)",
                           "export the table as CSV text (UTF-8)")
        for cut in range(4):  # the head may end inside a multi-byte character
            try:
                return head[: len(head) - cut].decode("utf-8-sig")
            except UnicodeDecodeError:
                continue
        raise self.err("CSV file is not UTF-8 text", "save it as UTF-8 (CSV UTF-8 in Excel)")

    def _on_ragged(self, row: Any) -> str:
        if self.ragged is None:
            number = None if row.number is None else row.number + self.row_offset
            self.ragged = (number, row.actual_columns, row.expected_columns)
        return "error"

    def _parse_error(self, text: str) -> DatasetError:
        if self.ragged is not None:
            number, got, want = self.ragged
            where = f"row {number}" if number is not None else "a row"
            return self.err(f"{where} has {got} values but the header names {want} columns",
                            "every row needs one value per column (is the delimiter right?)")
        if "UTF8" in text or "UTF-8" in text:
            return self.err("CSV file is not UTF-8 text", "save it as UTF-8 (CSV UTF-8 in Excel)")
        detail = f" ({text.splitlines()[0][:200]})" if self.quote and text else ""
        return self.err(f"CSV file cannot be parsed{detail}", "check quotes and delimiters")

    def _take(self, raw_columns: list[Any]) -> None:
        import pyarrow.compute as pc

        columns = [pc.utf8_trim_whitespace(c) for c in raw_columns]
        if not self.header:
            if not columns or len(columns[0]) == 0:
                return
            self._set_header([str(c[0].as_py()) for c in columns])
            columns = [c.slice(1) for c in columns]
        n = len(columns[0]) if columns else 0
        if n == 0:
            return
        block = np.empty((n, len(self.features)), dtype=np.float64)
        for k, j in enumerate(self.features):
            block[:, k] = self._numbers(columns[j], j)
        target = columns[self.t_col]
        empty = np.flatnonzero(pc.equal(target, "").to_numpy(zero_copy_only=False))
        if len(empty):
            raise self.err(f"the target column {self.col(self.t_col)} is empty in row {self.rows + 2 + empty[0]}",
                           "fill in every label, or remove the rows without one")
        if self.shift is None:
            self.shift = block.mean(axis=0) if self.standardize else np.zeros(block.shape[1])
            self._reserve(columns, n)
        block -= self.shift
        self._accumulate(block)
        if self.rows + n > len(self.X):
            self._grow(self.rows + n)
        self.X[self.rows:self.rows + n] = block
        self.targets.append(target)
        self.rows += n

    def _reserve(self, columns: list[Any], n: int) -> None:
        """Allocate X for the whole file, estimated from the first block's bytes per row, after checking
        that it fits: one buffer filled in place, never a list of blocks plus their concatenation."""
        import pyarrow.compute as pc

        text = sum(int(pc.sum(pc.binary_length(c)).as_py() or 0) for c in columns) + n * len(columns)
        per_row = max(text / n, 1.0)
        size = self.path.stat().st_size
        rows = int(size / per_row * 1.05) + n
        width = len(self.features)
        target_bytes = sum(c.nbytes for c in columns[self.t_col:self.t_col + 1]) / n
        check_fits(rows * (width * 4 + 8 + target_bytes), f"the CSV table (about {rows} rows of {width} features)",
                   "use a smaller table, or fewer columns", path=str(self.path))
        self.X = np.empty((rows, width), dtype=np.float32)

    def _grow(self, need: int) -> None:
        """The estimate was short (rows longer at the start than later): grow by half, checked first."""
        rows = max(need, int(len(self.X) * 1.5))
        width = self.X.shape[1]
        check_fits(rows * width * 4 + self.X.nbytes, f"the CSV table (more than {self.rows} rows of {width} features)",
                   "use a smaller table, or fewer columns", path=str(self.path))
        bigger = np.empty((rows, width), dtype=np.float32)
        bigger[:self.rows] = self.X[:self.rows]
        self.X = bigger

    def _set_header(self, header: list[str]) -> None:
        seen: set[str] = set()
        for j, name in enumerate(header):
            if not name:
                raise self.err(f"column {j + 1} of the header row has no name", "give every column a name in row 1")
            if name in seen:
                shown = repr(name) if self.quote else f"{j + 1} and {header.index(name) + 1}"
                raise self.err(f"two columns are named {shown}" if self.quote else f"columns {shown} have one name",
                               "give every column a different name")
            seen.add(name)
        if len(header) < 2:
            raise self.err("CSV file has a single column; it needs feature columns and a target column",
                           "check the delimiter setting, or add feature columns")
        self.header = header
        if self.target is None:
            self.t_col = len(header) - 1
        elif self.target in header:
            self.t_col = header.index(self.target)
        else:
            from graph_engine.params import closest_name

            guess = closest_name(self.target, header) if self.quote else None
            hint = (f"did you mean {guess!r}?" if guess else "columns: " + ", ".join(header)) if self.quote else \
                "name the target column as row 1 of the file names it"
            raise self.err(f"CSV file has no column {self.target!r}", hint)
        self.features = [j for j in range(len(header)) if j != self.t_col]

    def _numbers(self, column: Any, j: int) -> np.ndarray:
        import pyarrow as pa
        import pyarrow.compute as pc

        empty = np.flatnonzero(pc.equal(column, "").to_numpy(zero_copy_only=False))
        if len(empty):
            raise self.err(f"column {self.col(j)} is empty in row {self.rows + 2 + empty[0]}",
                           "fill in the missing values, or remove those rows")
        try:
            values = pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            texts = column.to_pylist()
            i = next((i for i, v in enumerate(texts) if _float_or_none(v) is None), 0)
            what = f"remove the column {self.col(j)}, encode it as numbers, or make it the target"
            raise self.err(f"column {self.col(j)} is not numeric (row {self.rows + 2 + i}{self.shown(texts[i])})",
                           what) from None
        bad = np.flatnonzero(~np.isfinite(values) | (np.abs(values) > FLOAT32_MAX))
        if len(bad):
            i = int(bad[0])
            value = float(values[i])
            if math.isfinite(value):
                raise self.err(f"column {self.col(j)} holds {_magnitude(value)} in row {self.rows + 2 + i}, beyond "
                               "what float32 (the training precision) can hold (3.4e38)",
                               f"rescale the column {self.col(j)} (e.g. to other units or a logarithm)")
            raise self.err(f"column {self.col(j)}{self.shown(column[i].as_py()) or ' holds a NaN or infinity'} "
                           f"in row {self.rows + 2 + i}", "use finite numbers only")
        return values

    def _accumulate(self, block: np.ndarray) -> None:
        """Chan's update of the running mean and sum of squared deviations (float64, shifted values)."""
        n = len(block)
        mean = block.mean(axis=0)
        m2 = ((block - mean) ** 2).sum(axis=0)
        if self.mean is None:
            self.count, self.mean, self.m2 = n, mean, m2
            return
        total = self.count + n
        delta = mean - self.mean
        self.mean = self.mean + delta * (n / total)
        self.m2 = self.m2 + m2 + delta**2 * (self.count * n / total)
        self.count = total

    # ---- the dataset -----------------------------------------------------------------------------------

    def _dataset(self) -> Dataset:
        import pyarrow as pa

        X = self.X[:self.rows]  # the unused tail of the estimate was never written, so never resident
        fm = fs = None
        if self.standardize:
            std = np.sqrt(self.m2 / self.count)
            std = np.where(std > 0, std, 1.0)
            X -= self.mean.astype(np.float32)
            X /= std.astype(np.float32)
            fm, fs = (self.shift + self.mean).astype(np.float32), std.astype(np.float32)
        target = pa.chunked_array(self.targets, type=pa.string())
        self.targets.clear()
        numbers = _numbers_or_none(target)
        name = self.header[self.t_col]
        task = self._resolve_task(numbers, target)
        common = dict(name="csv", X=X, kind="table", feature_names=tuple(self.header[j] for j in self.features),
                      feature_mean=fm, feature_std=fs, source=str(self.path),
                      description=f"{self.path.name}: {self.rows} rows, target {name!r}")
        if task == "classification":
            y, names = self._classes(numbers, target)
            return Dataset(y=y, task="classification", num_classes=len(names), class_names=names, **common)
        assert numbers is not None
        big = np.flatnonzero(np.abs(numbers) > FLOAT32_MAX)
        if len(big):
            raise self.err(f"the target column {self.col(self.t_col)} holds {_magnitude(float(numbers[big[0]]))} in "
                           f"row {int(big[0]) + 2}, beyond what float32 (the training precision) can hold (3.4e38)",
                           f"rescale the column {self.col(self.t_col)} (e.g. to other units or a logarithm)")
        y = numbers.reshape(-1, 1)
        tm = ts = None
        if self.standardize:
            y, tm, ts = standardise(y)
        return Dataset(y=y.astype(np.float32), task="regression", target_mean=tm, target_std=ts, **common)

    def _resolve_task(self, numbers: np.ndarray | None, target: Any) -> str:
        if self.task == "regression":
            if numbers is None:
                texts = target.to_pylist()
                i = next(i for i, v in enumerate(texts) if _float_or_none(v) is None)
                raise self.err(f"target column {self.col(self.t_col)} is not numeric (row {i + 2}"
                               f"{self.shown(texts[i])}), so it cannot be a regression target",
                               "set task to classification (or auto)")
            return "regression"
        if self.task == "classification" or numbers is None:
            return "classification"
        small = np.all(numbers == np.round(numbers)) and len(np.unique(numbers)) <= MAX_AUTO_CLASSES
        return "classification" if small else "regression"

    def _classes(self, numbers: np.ndarray | None, target: Any) -> tuple[np.ndarray, tuple[str, ...]]:
        import pyarrow as pa
        import pyarrow.compute as pc

        if numbers is not None:
            values, y = np.unique(numbers, return_inverse=True)
            names = tuple(str(int(v)) if float(v).is_integer() else f"{v:g}" for v in values)
        else:
            unique = pc.unique(target)
            if len(unique) > MAX_CLASSES:  # refused before the distinct values become Python strings
                names = tuple(range(len(unique)))
            else:
                names = tuple(sorted(unique.to_pylist()))
                y = pc.index_in(target, value_set=pa.array(names, type=pa.string())).to_numpy(zero_copy_only=False)
        if len(names) > MAX_CLASSES:
            raise self.err(f"target column {self.col(self.t_col)} has {len(names)} distinct values, too many "
                           "classes", "set task to regression if the target is a quantity")
        if len(names) < 2:
            single = f" {names[0]!r}" if self.quote else ""
            raise self.err(f"target column {self.col(self.t_col)} holds a single class{single}",
                           "a classifier needs at least 2 classes in the data")
        return np.asarray(y, dtype=np.int64).reshape(-1), names


def _sniff(text: str) -> str:
    try:
        return csv.Sniffer().sniff(text[:8192], delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _count_fields(text: str, delimiter: str) -> int:
    """How many columns the header row names (the first non-blank row of the file's head)."""
    try:
        for row in csv.reader(io.StringIO(text), delimiter=delimiter):
            if any(cell.strip() for cell in row):
                return len(row)
    except csv.Error:
        pass
    return 1


def _float_or_none(value: str) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _numbers_or_none(target: Any) -> np.ndarray | None:
    """The target as finite float64 numbers, or None when one of its values is not a finite number."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        numbers = pc.cast(target, pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return numbers if np.all(np.isfinite(numbers)) else None


def _magnitude(value: float) -> str:
    return f"a value of magnitude {abs(value):.1e}"


__all__ = ["DELIMITERS", "MAX_AUTO_CLASSES", "MAX_CLASSES", "load_csv"]
