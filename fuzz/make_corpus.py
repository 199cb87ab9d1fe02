"""Writes the seed corpus of the fuzz targets (fuzz/corpus/<target>/): the test fixtures and
hand-made malformed inputs. Run from anywhere: /usr/bin/python3 fuzz/make_corpus.py

npy, npz: .npy payloads and .npz archives with broken magic strings, headers, shapes,
dtypes, data blocks and zip structures. experiment: the example experiments and JSON with
wrong types, nesting, keys, ranges. nwb: inputs of the structure-aware NWB target
(fuzz/nwb_target.cpp), which reads its input as decisions about the file's contents: the
layout bytes below mirror its Layout, choose_options and value order.
"""
import pathlib
import struct
import zlib

root = pathlib.Path(__file__).resolve().parent.parent
corpus = root / "fuzz" / "corpus"
fixtures = root / "tests" / "fixtures"


def write(target, name, data):
    folder = corpus / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data if isinstance(data, bytes) else data.encode())


# --- npy -------------------------------------------------------------------------------
def npy(header, data=b"", major=1, header_length=None):
    """A .npy payload with `header` (a dict literal) padded as numpy pads it."""
    text = header.encode("latin1")
    length_bytes = 2 if major == 1 else 4
    text += b" " * ((-(8 + length_bytes + len(text) + 1)) % 64) + b"\n"
    length = len(text) if header_length is None else header_length
    packed = struct.pack("<H" if major == 1 else "<I", length)
    return b"\x93NUMPY" + bytes([major, 0]) + packed + text + data


for f in sorted(fixtures.glob("*.npy")):
    write("npy", f.name, f.read_bytes())
doubles = struct.pack("<6d", *range(6))
write("npy", "truncated_magic", b"\x93NUM")
write("npy", "bad_magic", b"\x93NUMPZ" + npy("{'descr': '<f8', 'fortran_order': False, 'shape': (6,), }", doubles)[6:])
write("npy", "version_4", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (6,), }", doubles, major=4))
write("npy", "header_length_beyond_file", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (6,), }",
                                              doubles, header_length=0xFFFF))
write("npy", "v2_header_length_4gb", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (6,), }", doubles,
                                         major=2, header_length=0xFFFFFFFF))
write("npy", "huge_shape", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (999999999999999, "
                               "999999999999999), }", doubles))
# No data (an extent is 0), but the other extents multiply beyond int64 (not beyond size_t).
write("npy", "zero_extent_and_huge_shape", npy("{'descr': '|b1', 'fortran_order': True, 'shape': (4294967296, "
                                               "4294967295, 0), }"))
write("npy", "negative_dim", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (-1, 6), }", doubles))
write("npy", "fortran_order_not_bool", npy("{'descr': '<f8', 'fortran_order': 'maybe', 'shape': (2, 3), }",
                                           doubles))
write("npy", "fortran_order_truncated_data", npy("{'descr': '<f8', 'fortran_order': True, 'shape': (3, 4), }",
                                                 doubles))
write("npy", "structured_dtype", npy("{'descr': [('a', '<f8'), ('b', '<i4')], 'fortran_order': False, "
                                     "'shape': (1,), }", b"\0" * 12))
write("npy", "complex_dtype", npy("{'descr': '<c16', 'fortran_order': False, 'shape': (3,), }", doubles))
write("npy", "unicode_zero_width", npy("{'descr': '<U0', 'fortran_order': False, 'shape': (3,), }"))
write("npy", "unicode_wide_truncated", npy("{'descr': '>U999999', 'fortran_order': False, 'shape': (1000,), }",
                                           b"\0\0\0A" * 8))
write("npy", "no_shape_key", npy("{'descr': '<f8', 'fortran_order': False, }", doubles))
write("npy", "shape_not_a_tuple", npy("{'descr': '<f8', 'fortran_order': False, 'shape': 6, }", doubles))
write("npy", "shape_empty_items", npy("{'descr': '<i8', 'fortran_order': False, 'shape': (2,,3), }", doubles))
write("npy", "scalar_shape", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (), }", doubles[:8]))
write("npy", "truncated_data", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (7,), }", doubles))
write("npy", "header_unclosed", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (6,", doubles))
write("npy", "bool_bigendian_fortran", npy("{'descr': '>b1', 'fortran_order': True, 'shape': (2, 3), }",
                                           bytes([1, 0, 2, 0, 255, 1])))
write("npy", "long_header", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (" + " " * 20000 + "6,), }",
                                doubles, major=2))
write("npy", "keys_in_odd_places", npy("{'shape': (2, 3), 'fortran_order': False, \"descr\": '=i4', "
                                       "'x': 'descr: <f8'}", struct.pack("<6i", *range(6))))

# --- npz -------------------------------------------------------------------------------
def zip_archive(entries, comment=b""):
    """A zip archive by hand, so that each field can be wrong. entries: dicts of name,
    payload and optional method (0 stored, 8 deflate), flags, declared size, crc, zip64."""
    local, central, offset = b"", b"", 0
    for e in entries:
        name, payload = e["name"].encode("utf-8", "surrogateescape"), e["payload"]
        method = e.get("method", 0)
        stored = zlib.compress(payload)[2:-4] if method == 8 else payload
        crc = e.get("crc", zlib.crc32(payload))
        size = e.get("size", len(payload))
        compressed = e.get("compressed", len(stored))
        extra = b""
        size32, compressed32 = size, compressed
        if e.get("zip64"):
            extra = struct.pack("<HHQQ", 1, 16, size, compressed)
            size32 = compressed32 = 0xFFFFFFFF
        header = struct.pack("<IHHHHHIIIHH", 0x04034B50, 45 if extra else 20, e.get("flags", 0), method, 0, 0, crc,
                             compressed32, size32, len(name), len(extra))
        local_entry = header + name + extra + stored
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45 if extra else 20, 45 if extra else 20,
                               e.get("flags", 0), method, 0, 0, crc, compressed32, size32, len(name), len(extra),
                               0, 0, 0, 0, offset) + name + extra
        local += local_entry
        offset += len(local_entry)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central), len(local),
                      len(comment))
    return local + central + end + comment


for f in sorted(fixtures.glob("*.npz")):
    write("npz", f.name, f.read_bytes())
good = npy("{'descr': '<f8', 'fortran_order': False, 'shape': (6,), }", doubles)
stored_fixture = (fixtures / "dataset_stored.npz").read_bytes()
write("npz", "empty_file", b"")
write("npz", "not_zip", b"this is not a zip archive\n")
write("npz", "truncated_archive", stored_fixture[: len(stored_fixture) // 2])
write("npz", "truncated_central_directory", stored_fixture[:-30])
write("npz", "no_entries", zip_archive([]))
write("npz", "entry_not_npy", zip_archive([{"name": "data.txt", "payload": b"plain text, not an array"}]))
write("npz", "entry_without_extension", zip_archive([{"name": "data", "payload": good}]))
write("npz", "entry_named_dot_npy", zip_archive([{"name": ".npy", "payload": good}]))
write("npz", "entry_in_parent_directory", zip_archive([{"name": "../data.npy", "payload": good}]))
write("npz", "duplicate_names", zip_archive([{"name": "data.npy", "payload": good},
                                             {"name": "data.npy", "payload": good[:40]}]))
write("npz", "declared_size_4gb_stored", zip_archive([{"name": "data.npy", "payload": good,
                                                       "size": 0xFFFFFFF0}]))
write("npz", "declared_size_4gb_deflated", zip_archive([{"name": "data.npy", "payload": good, "method": 8,
                                                         "size": 0xFFFFFFF0}]))
write("npz", "declared_size_zip64_huge", zip_archive([{"name": "data.npy", "payload": good, "method": 8,
                                                       "zip64": True, "size": 1 << 62}]))
write("npz", "crc_mismatch", zip_archive([{"name": "data.npy", "payload": good, "crc": 0x12345678}]))
write("npz", "lzma_method", zip_archive([{"name": "data.npy", "payload": good, "method": 14}]))
write("npz", "encrypted_flag", zip_archive([{"name": "data.npy", "payload": good, "flags": 1}]))
write("npz", "corrupt_deflate_stream", zip_archive([{"name": "data.npy", "payload": good, "method": 8,
                                                     "compressed": 10}]))
write("npz", "malformed_array_inside", zip_archive([
    {"name": "data.npy", "payload": npy("{'descr': '<f8', 'fortran_order': False, 'shape': (999999999999999,), }")},
    {"name": "times.npy", "payload": good}]))
write("npz", "invalid_utf8_name", zip_archive([{"name": "d\udcffta.npy", "payload": good}]))

# --- experiment ------------------------------------------------------------------------
for f in sorted((root / "experiments").glob("*.json")):
    if f.name != "schema.json":
        write("experiment", f.name, f.read_bytes())
base = ('{"name": "e", "dataset": {"generator": "teacher"}, "runs": [{"model": "tensor_rank", "ranks": %s, '
        '"hidden": 8}]%s}')
nwb = ('{"name": "e", "dataset": {"nwb": {"file": "/dev/null", "align": "go_cue_time", "window": %s, '
       '"bin_width": 0.05%s}}, "runs": [{"model": "full"}]}')
write("experiment", "empty", "")
write("experiment", "truncated", base % ('"1-3"', "")[:40])
write("experiment", "top_level_array", "[1, 2, 3]")
write("experiment", "wrong_types", '{"name": 5, "dataset": [], "runs": "tensor_rank", "seeds": {"a": 1}}')
write("experiment", "deep_nesting", '{"name": ' + "[" * 50000 + "]" * 50000 + ', "runs": []}')
write("experiment", "deep_object_nesting", '{"name": "e", "x": ' + '{"a": ' * 20000 + "1" + "}" * 20000 + "}")
write("experiment", "rank_range_huge", base % ('"1-99999999999"', ""))
write("experiment", "rank_range_from_zero", base % ('"0-3"', ""))
write("experiment", "rank_range_beyond_int64", base % ('"1-99999999999999999999999"', ""))
write("experiment", "rank_range_reversed", base % ('"5-1"', ""))
write("experiment", "ranks_repeated", base % ("[" + ", ".join(["2"] * 2000) + "]", ""))
write("experiment", "seeds_huge_values", base % ("[1]", ', "seeds": [18446744073709551615, 1e400, -0]'))
write("experiment", "key_with_tilde_and_slash", base % ("[1]", ', "a~b/c": 1, "train": {"x~2": 1}'))
write("experiment", "nwb_where_key_with_tilde", nwb % ("[-0.2, 0.3]", ', "trials_where": {"a~x": [1]}'))
write("experiment", "nwb_window_one_item", nwb % ("[0.3]", ""))
write("experiment", "nwb_window_reversed", nwb % ("[0.3, -0.2]", ', "epochs": [{"name": "a", "from": 5}, '
                                                 '{"name": "b", "from": 1}]'))
write("experiment", "invalid_surrogate", '{"name": "\\ud800", "dataset": {"generator": "reach"}, "runs": []}')
write("experiment", "teacher_parameters_inconsistent",
      '{"name": "e", "dataset": {"generator": "teacher", "parameters": {"rank": 9, "hidden": 2, "bins": 2, '
      '"preparatory_bins": 5, "conditions": 1000}}, "runs": [{"model": "full", "hidden": [1, 2], '
      '"overrides": {"input_rank": 9}, "train": {"iterations": -1}}]}')
write("experiment", "cp_analysis_empty_range", '{"name": "e", "dataset": {"generator": "reach"}, "runs": '
      '[{"model": "static"}], "analyses": {"cp": {"ranks": "3-1"}, "compare_trial_factors": true}}')
write("experiment", "numbers_out_of_range", base % ("[1]", ', "train": {"learning_rate": 1e308, "iterations": '
                                                    '9223372036854775808}, "mask": {"test_fraction": -1e-320}'))

# --- nwb -------------------------------------------------------------------------------
COLUMNS = ["trials_id", "start_time", "stop_time", "go_cue_time", "target", "result", "epoch",
           "units_id", "spike_times", "spike_times_index", "obs_intervals", "obs_intervals_index", "quality"]
FORMS = ["natural", "missing", "other_kind", "narrow", "integers", "longer_by_one", "shorter", "matrix"]


def nwb_input(units_state=0, trials_state=0, forms=None, ragged=0, trials=0, units=0, options=b"", values=b""):
    """The Layout bytes of fuzz/nwb_target.cpp (0 = its well-formed default), then the
    options' and the values' bytes (when left out: their defaults)."""
    form_bytes = bytes(0 if f == 0 else 128 + f for f in (forms or [0] * 13))
    return bytes([units_state, trials_state]) + form_bytes + bytes([ragged, trials, units]) + options + values


write("nwb", "well_formed", b"")
write("nwb", "units_missing", nwb_input(units_state=200))
write("nwb", "units_is_a_dataset", nwb_input(units_state=201))
write("nwb", "trials_missing", nwb_input(trials_state=200))
write("nwb", "one_trial_one_unit", nwb_input(trials=1, units=1))
write("nwb", "no_units", nwb_input(units=13))  # a count byte b gives b % 13 units
for c, column in enumerate(COLUMNS):
    for f in range(1, len(FORMS)):
        forms = [0] * 13
        forms[c] = f
        write("nwb", "%s_%s" % (column, FORMS[f]), nwb_input(forms=forms))
for bit, name in enumerate(["ragged_go_cue_time", "ragged_target", "signed_spike_index", "ragged_quality"]):
    write("nwb", name, nwb_input(ragged=1 << bit))
# options: align, window, condition, epoch mode, trials filter, units filter, min_spikes
for align in range(1, 8):
    write("nwb", "option_align_%d" % align, nwb_input(options=bytes([align])))
for window in range(1, 8):
    write("nwb", "option_window_%d" % window, nwb_input(options=bytes([0, window])))
for condition in range(1, 8):
    write("nwb", "option_condition_%d" % condition, nwb_input(options=bytes([0, 0, condition])))
write("nwb", "option_epoch_boundaries", nwb_input(options=bytes([0, 0, 0, 2, 2, 0, 10, 1, 100, 2, 200])))
write("nwb", "option_epoch_column_and_boundaries", nwb_input(options=bytes([0, 0, 0, 5, 0, 0, 10])))
for mode in (1, 3, 4):
    write("nwb", "option_epoch_mode_%d" % mode, nwb_input(options=bytes([0, 0, 0, mode])))
for where in range(1, 8):
    write("nwb", "option_trials_where_%d" % where, nwb_input(options=bytes([0, 0, 0, 0, where, 1])))
for where in range(1, 6):
    write("nwb", "option_units_where_%d" % where, nwb_input(options=bytes([0, 0, 0, 0, 1, where, 1])))
write("nwb", "option_min_spikes_huge", nwb_input(options=bytes([0, 0, 0, 0, 0, 0, 0xF9])))
write("nwb", "option_min_spikes_negative", nwb_input(options=bytes([0, 0, 0, 0, 0, 0, 0xF8])))
