// The pybind11 layer: converts arguments, releases the GIL, calls the C++ core. Checks of what
// the user passed (with messages naming the argument) live in the Python facade; the checks
// here only keep a wrong call from the facade itself from writing out of bounds.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>
#include <vector>

#include "philoxinit/core.hpp"

namespace py = pybind11;
using namespace philoxinit;

namespace {

bool poll_python_signals(void*) {
  py::gil_scoped_acquire gil;
  return PyErr_CheckSignals() != 0;  // leaves the KeyboardInterrupt (or other) error set
}

struct Target {
  void* data;
  uint64_t size;
};

Target writable_target(py::array& out, int dtype_code) {
  static const int sizes[] = {4, 8, 2, 2};
  if (dtype_code < 0 || dtype_code > 3) throw py::value_error("internal: bad dtype code");
  if (!out.writeable()) throw py::value_error("out must be writable");
  if (!(out.flags() & py::array::c_style)) throw py::value_error("out must be C-contiguous");
  if (out.itemsize() != sizes[dtype_code]) throw py::value_error("internal: dtype size mismatch");
  return Target{out.mutable_data(), uint64_t(out.size())};
}

// The optional shard layout: run_starts (uint64 array, or None for a plain fill) and the
// common run length.
struct Shard {
  py::array_t<uint64_t, py::array::c_style | py::array::forcecast> starts;
  uint64_t run_length = 0;
  StreamPos at(uint64_t seed, uint64_t stream, uint64_t offset) const {
    StreamPos pos{seed, stream, offset};
    if (run_length) {
      pos.run_starts = starts.data();
      pos.run_count = uint64_t(starts.size());
      pos.run_length = run_length;
    }
    return pos;
  }
};

Shard make_shard(const py::object& run_starts, uint64_t run_length) {
  Shard s;
  if (!run_starts.is_none()) {
    s.starts = py::array_t<uint64_t, py::array::c_style | py::array::forcecast>(run_starts);
    s.run_length = run_length;
    if (run_length == 0) throw py::value_error("internal: run_length must be > 0");
  }
  return s;
}

// Runs a core call without the GIL, polling for Ctrl-C between chunks; re-raises the
// interrupt as the Python exception PyErr_CheckSignals set.
// Only the main thread receives signals, so only a fill there polls for them.
bool on_main_thread() {
  static const unsigned long main_ident =
      py::module_::import("threading").attr("main_thread")().attr("ident").cast<unsigned long>();
  return PyThread_get_thread_ident() == main_ident;
}

template <class Call>
void run_released(int threads, Call&& call) {
  Interrupt interrupt{poll_python_signals, nullptr};
  FillOptions opt{threads, on_main_thread() ? &interrupt : nullptr};
  Status status;
  {
    py::gil_scoped_release release;
    status = call(opt);
  }
  if (status == Status::interrupted) throw py::error_already_set();
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "philoxinit C++ core binding (internal; use the philoxinit package)";

  py::register_exception<InvalidArgument>(m, "CoreInvalidArgument", PyExc_ValueError);

  m.def("random_raw", [](uint64_t n, uint64_t seed, uint64_t stream, uint64_t offset, int threads) {
    py::array_t<uint32_t> out(static_cast<py::ssize_t>(n));
    uint32_t* data = out.mutable_data();
    run_released(threads, [&](const FillOptions& opt) {
      return random_raw(data, n, StreamPos{seed, stream, offset}, opt);
    });
    return out;
  });

  m.def("fill_uniform", [](py::array out, int dtype, double low, double high, uint64_t seed,
                           uint64_t stream, uint64_t offset, int threads, py::object run_starts,
                           uint64_t run_length) {
    const Target t = writable_target(out, dtype);
    const Shard shard = make_shard(run_starts, run_length);
    run_released(threads, [&](const FillOptions& opt) {
      return fill_uniform(t.data, DType(dtype), t.size, low, high, shard.at(seed, stream, offset), opt);
    });
  }, py::arg("out"), py::arg("dtype"), py::arg("low"), py::arg("high"), py::arg("seed"),
     py::arg("stream"), py::arg("offset"), py::arg("threads"), py::arg("run_starts") = py::none(),
     py::arg("run_length") = 0);

  m.def("fill_normal", [](py::array out, int dtype, double mean, double stddev, uint64_t seed,
                          uint64_t stream, uint64_t offset, int threads, py::object run_starts,
                          uint64_t run_length) {
    const Target t = writable_target(out, dtype);
    const Shard shard = make_shard(run_starts, run_length);
    run_released(threads, [&](const FillOptions& opt) {
      return fill_normal(t.data, DType(dtype), t.size, mean, stddev, shard.at(seed, stream, offset), opt);
    });
  }, py::arg("out"), py::arg("dtype"), py::arg("mean"), py::arg("std"), py::arg("seed"),
     py::arg("stream"), py::arg("offset"), py::arg("threads"), py::arg("run_starts") = py::none(),
     py::arg("run_length") = 0);

  m.def("fill_trunc_normal", [](py::array out, int dtype, double mean, double stddev, double a,
                                double b, uint64_t seed, uint64_t stream, uint64_t offset, int threads,
                                py::object run_starts, uint64_t run_length) {
    const Target t = writable_target(out, dtype);
    const Shard shard = make_shard(run_starts, run_length);
    run_released(threads, [&](const FillOptions& opt) {
      return fill_trunc_normal(t.data, DType(dtype), t.size, mean, stddev, a, b,
                               shard.at(seed, stream, offset), opt);
    });
  }, py::arg("out"), py::arg("dtype"), py::arg("mean"), py::arg("std"), py::arg("a"), py::arg("b"),
     py::arg("seed"), py::arg("stream"), py::arg("offset"), py::arg("threads"),
     py::arg("run_starts") = py::none(), py::arg("run_length") = 0);

  m.def("fill_constant", [](py::array out, int dtype, double value, int threads) {
    const Target t = writable_target(out, dtype);
    run_released(threads, [&](const FillOptions& opt) {
      return fill_constant(t.data, DType(dtype), t.size, value, opt);
    });
  });

  // Many fills in one parallel pass. jobs: a list of tuples
  // (out, dtype_code, dist_code, p0, p1, p2, p3, seed, stream, offset, run_starts or None,
  // run_length); dist_code as philoxinit::Dist, unused params 0.
  m.def("fill_batch", [](py::list jobs, int threads) {
    const size_t count = size_t(py::len(jobs));
    std::vector<FillJob> core(count);
    std::vector<py::array> outs;  // references held until the fill is done
    std::vector<Shard> shards;
    outs.reserve(count);
    shards.reserve(count);
    for (size_t j = 0; j < count; ++j) {
      const py::tuple job = jobs[j].cast<py::tuple>();
      if (job.size() != 12) throw py::value_error("internal: a batch job is a 12-tuple");
      outs.push_back(job[0].cast<py::array>());
      const int dtype = job[1].cast<int>(), dist = job[2].cast<int>();
      if (dist < 0 || dist > 3) throw py::value_error("internal: bad dist code");
      const Target t = writable_target(outs.back(), dtype);
      shards.push_back(make_shard(job[10], job[11].cast<uint64_t>()));
      FillJob& f = core[j];
      f.out = t.data;
      f.dtype = DType(dtype);
      f.n = t.size;
      f.dist = Dist(dist);
      for (int k = 0; k < 4; ++k) f.params[k] = job[3 + k].cast<double>();
      f.pos = shards.back().at(job[7].cast<uint64_t>(), job[8].cast<uint64_t>(),
                               job[9].cast<uint64_t>());
    }
    run_released(threads, [&](const FillOptions& opt) {
      return fill_batch(core.data(), uint64_t(count), opt);
    });
  }, py::arg("jobs"), py::arg("threads"));

  m.def("get_num_threads", &default_threads);
  m.def("set_num_threads", &set_default_threads);
  m.def("openmp_enabled", &openmp_enabled);
  m.def("best_isa", [] { return std::string(isa_name(best_isa())); });
  m.def("active_isa", [] { return std::string(isa_name(active_isa())); });
  m.def("set_isa", [](const std::string& name) {
    for (Isa isa : {Isa::scalar, Isa::avx2, Isa::avx512})
      if (name == isa_name(isa)) return set_isa(isa);
    throw py::value_error("isa must be one of 'scalar', 'avx2', 'avx512'");
  });
  m.def("build_info", &build_info);
}
