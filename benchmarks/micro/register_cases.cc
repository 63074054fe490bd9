// register_cases.cc — registers the C microbenchmark cases with Google Benchmark.
//
// The only C++ in the suite. Besides Google Benchmark's own --benchmark_* flags:
//   --quick                     register each case's short argument list only
//   --smoke                     register each case's first argument, one iteration
//   --expect-malloc-from=FILE   exit 1 unless malloc resolves to a shared object
//                               with that file name (guards against ignored preloads)
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <string>

extern "C" {
#include "micro_case.h"
}

static void run_case(benchmark::State &state, const micro_case *c, long arg)
{
    void *ctx = c->setup ? c->setup(c->param, arg) : nullptr;
    while (state.KeepRunningBatch(state.max_iterations))
        c->run(ctx, c->param, arg, static_cast<uint64_t>(state.max_iterations));
    if (c->teardown)
        c->teardown(ctx);

    double items = static_cast<double>(state.iterations()) *
                   static_cast<double>(c->items_per_iteration(c->param, arg));
    state.SetItemsProcessed(static_cast<int64_t>(items));
    if (c->ranked_by_throughput)
        state.counters["throughput"] = benchmark::Counter(items, benchmark::Counter::kIsRate);
}

static void register_cases(bool quick, bool smoke)
{
    for (const micro_case *const *c = micro_cases; *c; c++) {
        const long *args = quick ? (*c)->quick_args : (*c)->args;
        for (const long *arg = args; *arg; arg++) {
            std::string name = std::string((*c)->name) + "/" + std::to_string(*arg);
            auto *b = benchmark::RegisterBenchmark(name.c_str(), run_case, *c, *arg);
            b->UseRealTime();
            if (smoke) {
                b->Iterations(1);
                break;
            }
        }
    }
}

static const char *base_name(const char *path)
{
    const char *slash = std::strrchr(path, '/');
    return slash ? slash + 1 : path;
}

int main(int argc, char **argv)
{
    bool quick = false, smoke = false;
    const char *expected = nullptr;
    int kept = 1;
    for (int i = 1; i < argc; i++) {
        if (std::strcmp(argv[i], "--quick") == 0)
            quick = true;
        else if (std::strcmp(argv[i], "--smoke") == 0)
            smoke = true;
        else if (std::strncmp(argv[i], "--expect-malloc-from=", 21) == 0)
            expected = argv[i] + 21;
        else
            argv[kept++] = argv[i];
    }
    argc = kept;

    const char *provider = malloc_provider();
    if (expected && std::strcmp(base_name(provider), base_name(expected)) != 0) {
        std::fprintf(stderr, "micro: malloc comes from %s, expected %s (preload ignored?)\n",
                     provider, expected);
        return 1;
    }

    register_cases(quick, smoke);
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 2;
    benchmark::AddCustomContext("malloc_provider", provider);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
