// The report: page assembly and escaping, chart data against the files the runs saved
// (factors, predictions, data) and against independent computations, refusals of bad
// output directories, and headless Chromium drawing every chart of a real experiment.
// One file (about 560 lines) because the tests share one real experiment, run once per
// test process, and the Chromium harness.
#include "report/report.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>

#include "experiment/experiment.h"
#include "experiment/runner.h"
#include "io/npy.h"
#include "report/charts.h"
#include "report/html.h"
#include "report/sweep.h"
#include "run_ltrnn.h"
#include "scratch_directory.h"
#include "test_paths.h"
#include "util/files.h"
#include "util/resources.h"

namespace ltrnn {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

// ---------------------------------------------------------------------------------------
// Page assembly.

TEST(ReportHtml, EscapesTextAndWhatSitsInsideScriptElements) {
  EXPECT_EQ(html_escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
  // Text that would end the <script> element, or switch the HTML parser into its
  // escaped states, must not reach the page as markup.
  const json value{{"text", "</script><script>alert(1)</script> <!--<script> & \u2028"}};
  const std::string safe = script_safe_json(value);
  for (const char* markup : {"<", ">", "&", "\u2028"}) EXPECT_EQ(safe.find(markup), std::string::npos) << markup;
  EXPECT_EQ(json::parse(safe), value);  // the \u escapes mean the same characters
  EXPECT_THROW(script_safe_js("var a = '</SCRIPT>';", "x.js"), std::logic_error);
  EXPECT_EQ(script_safe_js("f();\n//# sourceMappingURL=f.min.js.map", "f.js"), "f();\n");
  EXPECT_EQ(script_safe_js("f();\n//# sourceMappingURL=f.min.js.map\n", "f.js"), "f();\n");
  EXPECT_EQ(script_safe_js("//# sourceMappingURL=a.map\ng();", "g.js"), "//# sourceMappingURL=a.map\ng();");
  EXPECT_EQ(script_safe_js("g();", "g.js"), "g();");
}

// The JSON of the charts embedded in a page.
json embedded_charts(const std::string& html) {
  const std::string open = "<script type=\"application/json\" id=\"ltrnn-charts\">";
  const std::size_t begin = html.find(open);
  if (begin == std::string::npos) return nullptr;
  const std::size_t end = html.find("</script>", begin);
  return json::parse(html.substr(begin + open.size(), end - begin - open.size()));
}

TEST(ReportHtml, InlinesTheChartLibrariesAndEveryChartSpecification) {
  ReportPage page;
  page.title = "ltrnn report: <demo>";
  page.html = "<p>lead</p>";
  ReportSection section;
  section.heading = "Section & one";
  section.charts.push_back(
      {"First chart", "What to read.", {{"mark", "point"}, {"data", {{"values", json::array()}}}}});
  section.charts.push_back(
      {"Second chart", "More.", {{"mark", "line"}, {"data", {{"values", {{{"x", 0.123456789}}}}}}}});
  page.sections.push_back(section);
  const std::string html = render_report_html(page);

  EXPECT_NE(html.find("<title>ltrnn report: &lt;demo&gt;</title>"), std::string::npos);
  EXPECT_NE(html.find("Section &amp; one"), std::string::npos);
  // Offline: no external scripts or styles; the libraries' own code is in the page.
  EXPECT_EQ(html.find("<script src"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  for (const char* library :
       {"third_party/vega/vega.min.js", "third_party/vega/vega-lite.min.js", "third_party/vega/vega-embed.min.js"})
    EXPECT_NE(html.find(embedded_resource(library).substr(0, 2000)), std::string::npos) << library;
  EXPECT_EQ(html.find("sourceMappingURL"), std::string::npos);  // the maps are not shipped
  for (const char* version : {"vega 6.4.0", "vega-lite 6.5.0", "vega-embed 7.3.0"})
    EXPECT_NE(html.find(version), std::string::npos) << version;
  EXPECT_NE(html.find("data-charts=\"2\""), std::string::npos);

  const json charts = embedded_charts(html);
  ASSERT_EQ(charts.size(), 2u);
  EXPECT_EQ(charts[0]["id"], "chart-1");
  EXPECT_NE(html.find("id=\"chart-2\""), std::string::npos);
  EXPECT_EQ(charts[1]["spec"]["title"], "Second chart");
  EXPECT_EQ(charts[1]["spec"]["$schema"], "https://vega.github.io/schema/vega-lite/v6.json");
  EXPECT_EQ(charts[1]["spec"]["data"]["values"][0]["x"], 0.12346);  // 5 significant digits
}

TEST(ReportCharts, EpochSpansFollowTheSessionOrder) {
  const auto spans = epoch_spans({"BL", "BL", "AD", "AD", "AD", "WO", "BL"});
  ASSERT_EQ(spans.size(), 4u);
  EXPECT_EQ(spans[0].epoch, "BL");
  EXPECT_EQ(spans[1].epoch, "AD");
  EXPECT_EQ(spans[1].first, 2);
  EXPECT_EQ(spans[1].last, 4);
  EXPECT_EQ(spans[3].epoch, "BL");
  EXPECT_EQ(spans[3].first, 6);
  EXPECT_TRUE(epoch_spans({}).empty());
}

// A small comparison: tensor_rank at ranks 1-3 (two seeds, one failed run) and full; the
// table's rows as the runner wrote them, rank 2 selected.
struct Comparison {
  std::vector<RunRecord> runs;
  ComparisonTable table;
};

RunRecord record(const std::string& id, const std::string& model, int64_t rank, int64_t seed, int64_t n_params,
                 double nmse, const std::string& status = "finished") {
  RunRecord r;
  r.id = id;
  r.model = parse_enum<ModelKind>(model, "model");
  r.rank = rank;
  r.seed = seed;
  r.n_params = n_params;
  r.test_nmse = nmse;
  r.outcome = RunOutcome::parse(status);
  return r;
}

Comparison comparison_results() {
  Comparison c;
  const std::map<int, std::pair<double, double>> nmse{{1, {0.30, 0.32}}, {2, {0.11, 0.12}}, {3, {0.10, 0.10}}};
  for (const auto& [rank, values] : nmse)
    for (int seed : {0, 1})
      c.runs.push_back(record("tensor_rank-r" + std::to_string(rank) + "-s" + std::to_string(seed), "tensor_rank", rank,
                              seed, 100 * rank, seed ? values.second : values.first));
  c.runs.push_back(record("tensor_rank-r4-s0", "tensor_rank", 4, 0, 400, std::nan(""), "failed: diverged"));
  c.runs.push_back(record("full-s0", "full", 0, 0, 5000, 0.105));
  const auto row = [](const std::string& model, int64_t rank, int64_t finished, double mean, double se) {
    ComparisonRow r;
    r.model = parse_enum<ModelKind>(model, "model");
    r.rank = rank;
    r.finished = finished;
    r.planned = std::max<int64_t>(finished, 1);
    r.mean_nmse = r.score = mean;
    r.sem_nmse = r.score_se = se;
    return r;
  };
  c.table.rows = {row("tensor_rank", 1, 2, 0.31, 0.01), row("tensor_rank", 2, 2, 0.115, 0.01),
                  row("tensor_rank", 3, 2, 0.10, 0.02), row("tensor_rank", 4, 0, 0, 0), row("full", 0, 1, 0.105, 0.01)};
  c.table.selected_rank = {{ModelKind::TensorRank, 2}};
  return c;
}

TEST(ReportCharts, RankChartMarksTheSelectedRankAndTheOneStandardErrorLine) {
  const Comparison c = comparison_results();
  const Chart chart = rank_selection_chart(c.runs, c.table, {"tensor_rank", "full"});
  const json& data = chart.spec.at("datasets");
  ASSERT_EQ(data["selected"].size(), 1u);
  EXPECT_EQ(data["selected"][0]["rank"], 2);
  EXPECT_EQ(data["selected"][0]["label"], "selected: rank 2");
  ASSERT_EQ(data["threshold"].size(), 1u);
  EXPECT_NEAR(data["threshold"][0]["score"].get<double>(), 0.10 + 0.02, 1e-12);  // best mean + its s.e.
  EXPECT_EQ(data["seeds"].size(), 6u);                                           // the failed run has no point
  EXPECT_EQ(data["means"].size(), 3u);                                           // ranks with a finished seed
  ASSERT_EQ(data["reference"].size(), 1u);
  EXPECT_EQ(data["reference"][0]["model"], "full");
  EXPECT_NEAR(data["means"][1]["low"].get<double>(), 0.105, 1e-12);
  EXPECT_NEAR(data["means"][1]["high"].get<double>(), 0.125, 1e-12);
  EXPECT_EQ(chart.spec["layer"][2]["encoding"]["y"]["scale"]["type"], "log");
  EXPECT_FALSE(chart.caption.empty());
}

TEST(ReportCharts, ParameterChartRingsTheSelectedFits) {
  const Chart chart =
      parameter_count_chart(comparison_results().runs, {"tensor_rank", "full"}, {"tensor_rank-r2-s0", "full-s0"});
  EXPECT_EQ(chart.spec["layer"][0]["data"]["values"].size(), 7u);
  const json& ringed = chart.spec["layer"][1]["data"]["values"];
  ASSERT_EQ(ringed.size(), 2u);
  EXPECT_EQ(ringed[0]["id"], "tensor_rank-r2-s0");
  EXPECT_EQ(ringed[1]["n_params"], 5000);
}

// ---------------------------------------------------------------------------------------
// The report of a real (tiny) experiment: paper_reach_small, every family, reach data and
// the CP analysis. Each test process runs it once into its own directory.

fs::path tiny_experiment_path() {
  return fs::temp_directory_path() / ("ltrnn_report_test_" + std::to_string(::getpid()));
}

const fs::path& tiny_experiment_dir() {
  static const fs::path dir = [] {
    const fs::path out = tiny_experiment_path();
    fs::remove_all(out);
    std::atexit([] {
      std::error_code ignored;
      fs::remove_all(tiny_experiment_path(), ignored);
    });
    RunnerOptions options;
    options.out_dir = out;
    options.progress = false;
    options.jobs = 2;
    std::ostringstream log;
    run_experiment(load_experiment(fs::path(LTRNN_SOURCE_DIR) / "experiments/paper_reach_small.json"), options, log);
    return out;
  }();
  return dir;
}

const Chart* find_chart(const ReportPage& page, const std::string& title) {
  for (const ReportSection& section : page.sections)
    for (const Chart& chart : section.charts)
      if (chart.title == title) return &chart;
  return nullptr;
}

// The data rows of a chart: its `data` or, for layered charts, the last layer's.
const json& chart_rows(const Chart& chart) {
  if (chart.spec.contains("data")) return chart.spec.at("data").at("values");
  return chart.spec.at("layer").back().at("data").at("values");
}

// The tensor_rank fit the report shows: at the selected rank, the finished run (a seed's or
// a rank-ladder start's) with the lowest validation loss; its id and its label.
std::pair<std::string, std::string> selected_tensor_rank_fit(const fs::path& dir) {
  const json results = json::parse(read_file(dir / "results.json"));
  const int64_t rank = results["selected_rank"]["tensor_rank"];
  const json* best = nullptr;
  for (const json& run : results["runs"])
    if (run["model"] == "tensor_rank" && run["rank"] == rank && run["status"] == "finished" &&
        (!best || run["validation_loss"].get<double>() < (*best)["validation_loss"].get<double>()))
      best = &run;
  const std::string start = (*best)["start"] == "seed" ? "seed " + std::to_string((*best)["seed"].get<int64_t>())
                                                       : "ladder " + (*best)["start"].get<std::string>() + " from " +
                                                             (*best)["start_from"].get<std::string>();
  return {(*best)["id"], "tensor_rank, rank " + std::to_string(rank) + ", " + start};
}
std::string selected_tensor_rank_run(const fs::path& dir) { return selected_tensor_rank_fit(dir).first; }

// Every x and y channel that shows a field has a title with its unit in brackets.
void expect_axis_titles_with_units(const json& spec, const std::string& chart) {
  if (spec.is_object()) {
    if (spec.contains("encoding"))
      for (const char* channel : {"x", "y"}) {
        const json& encoding = spec.at("encoding");
        if (!encoding.contains(channel) || !encoding.at(channel).contains("field")) continue;
        const std::string title = encoding.at(channel).value("title", "");
        EXPECT_NE(title.find('('), std::string::npos) << chart << ": " << channel << " title '" << title << "'";
        EXPECT_NE(title.find(')'), std::string::npos) << chart << ": " << channel << " title '" << title << "'";
      }
    for (const auto& item : spec.items()) expect_axis_titles_with_units(item.value(), chart);
  } else if (spec.is_array()) {
    for (const json& element : spec) expect_axis_titles_with_units(element, chart);
  }
}

TEST(ReportOfAnExperiment, RunWritesItAndEveryPartIsThere) {
  const fs::path& dir = tiny_experiment_dir();
  ASSERT_TRUE(fs::exists(dir / "report.html"));
  const ReportPage page = build_report(dir);
  std::vector<std::string> headings;
  for (const ReportSection& section : page.sections) headings.push_back(section.heading);
  const json results = json::parse(read_file(dir / "results.json"));
  const int64_t rank = results["selected_rank"]["tensor_rank"];
  EXPECT_EQ(headings, (std::vector<std::string>{
                          "Experiment", "Model selection", "Selected fit: " + selected_tensor_rank_fit(dir).second,
                          "Selected fit: full, seed 0", "Selected fit: static, seed 0",
                          "Selected fit: matrix_rank, rank 1, seed 0", "Reaching behaviour", "Analyses"}));
  EXPECT_NE(page.html.find("tensor_rank: rank " + std::to_string(rank) + " selected."), std::string::npos);
  const std::string fit = selected_tensor_rank_fit(dir).second;
  for (const std::string& title : std::vector<std::string>{
           "Cross-validated error against rank", "Error against model size", "Training curve — " + fit,
           "Trial factors — " + fit, "Column and row factor loadings — " + fit,
           "Predicted against recorded activity — " + fit, "Hidden trajectories — " + fit,
           "Eigenvalues of W(k) — " + fit, "Change of the weights over trials — full, seed 0", "Hand paths",
           "Lateral deviation per trial", "CP decomposition of 'weights' (learning updates)"})
    EXPECT_NE(find_chart(page, title), nullptr) << title;
  EXPECT_EQ(find_chart(page, "Change of the weights over trials — static, seed 0"), nullptr);  // W is constant
  for (const ReportSection& section : page.sections)
    for (const Chart& chart : section.charts) {
      EXPECT_FALSE(chart.caption.empty()) << chart.title;
      expect_axis_titles_with_units(chart.spec, chart.title);
    }
  // The experiment table: shape, plan and wall time.
  EXPECT_NE(page.sections[0].html.find("30 time bins × 48 trials × 20 neurons"), std::string::npos);
  EXPECT_NE(page.sections[0].html.find("7 runs: 7 finished"), std::string::npos);  // with the ladder's 2
  EXPECT_EQ(page.sections[0].html.find("not recorded"), std::string::npos);
}

TEST(ReportOfAnExperiment, ChartDataAreTheSavedFitsAndData) {
  const fs::path& dir = tiny_experiment_dir();
  const ReportPage page = build_report(dir);
  const std::string id = selected_tensor_rank_run(dir);
  const auto factors = read_npz(dir / "runs" / id / "factors.npz");
  const NpyArray& trial = factors.at("trial_factors");  // [K, R]
  const int64_t K = trial.shape[0], R = trial.shape[1];
  const std::vector<double> c = trial.to_doubles(), a = factors.at("column_factors").to_doubles(),
                            b = factors.at("row_factors").to_doubles();
  const int64_t N = factors.at("column_factors").shape[0];
  ASSERT_GT(R, 1) << "with one component, [K, R] and [R, K] indexing would look alike";
  const std::string fit = selected_tensor_rank_fit(dir).second;

  // 1. Trial factors: the values of factors.npz.
  const Chart* trial_chart = find_chart(page, "Trial factors — " + fit);
  ASSERT_NE(trial_chart, nullptr);
  const json& trial_rows = chart_rows(*trial_chart);
  ASSERT_EQ(trial_rows.size(), static_cast<std::size_t>(K * R));
  for (const json& row : trial_rows) {
    const int64_t k = row["trial"], r = std::stoi(row["component"].get<std::string>()) - 1;
    EXPECT_NEAR(row["value"].get<double>(), c[k * R + r], 1e-6 * (1 + std::abs(c[k * R + r])));
  }

  // 2. Eigenvalues of W(k) = sum_r c[k,r] a_r b_r^T: N per trial, conjugate pairs, and
  //    their sum is trace W(k) = sum_r c[k,r] (a_r . b_r).
  const Chart* eigen_chart = find_chart(page, "Eigenvalues of W(k) — " + fit);
  ASSERT_NE(eigen_chart, nullptr);
  std::map<int64_t, std::pair<double, double>> sums;  // trial -> (sum re, sum im)
  std::map<int64_t, int64_t> counts;
  for (const json& row : eigen_chart->spec.at("data").at("values")) {
    sums[row["trial"]].first += row["re"].get<double>();
    sums[row["trial"]].second += row["im"].get<double>();
    ++counts[row["trial"]];
  }
  EXPECT_EQ(sums.size(), 6u);  // first and last trial of BL, AD, WO
  for (const auto& [k, sum] : sums) {
    double trace = 0;
    for (int64_t r = 0; r < R; ++r)
      for (int64_t i = 0; i < N; ++i) trace += c[k * R + r] * a[i * R + r] * b[i * R + r];
    EXPECT_NEAR(sum.first, trace, 1e-5 * (1 + std::abs(trace))) << "trial " << k;
    EXPECT_NEAR(sum.second, 0.0, 1e-6) << "trial " << k;
    EXPECT_EQ(counts[k], N);
  }

  // 3. Predicted and recorded activity: predictions.npy and the dataset, entry by entry.
  const Chart* prediction_chart = find_chart(page, "Predicted against recorded activity — " + fit);
  ASSERT_NE(prediction_chart, nullptr);
  const NpyArray predictions = read_npy(dir / "runs" / id / "predictions.npy");  // [T, K, D]
  const NpyArray data = read_npz(dir / "dataset.npz").at("data");
  const std::vector<double> yhat = predictions.to_doubles(), y = data.to_doubles();
  const int64_t D = predictions.shape[2];
  const std::vector<double> times = read_npz(dir / "dataset.npz").at("times").to_doubles();
  const json& rows = prediction_chart->spec.at("data").at("values");
  EXPECT_EQ(rows.size(), 8u * 2 * 3 * 30);  // 8 conditions x first/last trial x 3 neurons x 30 bins
  for (const json& row : rows) {
    const int64_t k = row["trial"], i = std::stoi(row["neuron"].get<std::string>().substr(7));
    const auto t =
        static_cast<int64_t>(std::find(times.begin(), times.end(), row["time"].get<double>()) - times.begin());
    ASSERT_LT(t, static_cast<int64_t>(times.size()));
    EXPECT_NEAR(row["predicted"].get<double>(), yhat[(t * K + k) * D + i], 1e-5);
    EXPECT_NEAR(row["recorded"].get<double>(), y[(t * K + k) * D + i], 1e-12);
  }

  // 4. Loadings are the unit-norm factors: each component's squared loadings sum to 1.
  const Chart* loadings = find_chart(page, "Column and row factor loadings — " + fit);
  ASSERT_NE(loadings, nullptr);
  std::map<std::string, double> squared;
  for (const json& row : loadings->spec.at("data").at("values"))
    squared[row["factor"].get<std::string>() + row["component"].get<std::string>()] +=
        std::pow(row["value"].get<double>(), 2);
  EXPECT_EQ(squared.size(), static_cast<std::size_t>(2 * R));
  for (const auto& [name, sum] : squared) EXPECT_NEAR(sum, 1.0, 1e-5) << name;

  // 5. The training curve ends at the run's last logged iteration.
  const Chart* curve = find_chart(page, "Training curve — " + fit);
  ASSERT_NE(curve, nullptr);
  const json summary = json::parse(read_file(dir / "runs" / id / "summary.json"));
  EXPECT_EQ(curve->spec.at("data").at("values").back()["iteration"].get<double>(),
            summary["summary"]["iterations"].get<double>());
}

// Moves a file aside for the lifetime of the object (restored even when a test fails).
class MovedAside {
 public:
  explicit MovedAside(fs::path path) : path_(std::move(path)) { fs::rename(path_, aside()); }
  ~MovedAside() {
    std::error_code ignored;
    fs::remove(path_, ignored);
    fs::rename(aside(), path_, ignored);
  }
  fs::path aside() const { return path_.string() + ".aside"; }

 private:
  fs::path path_;
};

TEST(ReportOfAnExperiment, WithoutItsDatasetTheReportSaysSoAndKeepsTheRest) {
  const fs::path& dir = tiny_experiment_dir();
  ReportPage page;
  {
    MovedAside moved(dir / "dataset.npz");
    page = build_report(dir);
  }
  EXPECT_NE(page.sections[0].html.find("could not be read"), std::string::npos);
  for (const ReportSection& section : page.sections) {
    EXPECT_NE(section.heading, "Reaching behaviour");
    for (const Chart& chart : section.charts)
      EXPECT_EQ(chart.title.find("Predicted against recorded"), std::string::npos);
  }
  EXPECT_NE(find_chart(page, "Cross-validated error against rank"), nullptr);
}

TEST(ReportOfAnExperiment, AnUnusableCheckpointOrRaggedLogLeavesOutOnlyWhatNeedsThem) {
  const fs::path& dir = tiny_experiment_dir();
  const fs::path run = dir / "runs" / "static-n20-s0";
  ReportPage page;
  {
    MovedAside checkpoint(run / "checkpoint.pt");
    MovedAside log(run / "log.csv");
    write_file_atomic(run / "checkpoint.pt", "not a checkpoint");
    // A log with a blank line, empty fields and a cut-off last line.
    write_file_atomic(run / "log.csv", "iteration,train_loss,test_loss,seconds\n1,0.5,0.6,0.1\n\n2,,0.55,0.2\n3,0.4");
    page = build_report(dir);
  }
  const ReportSection* section = nullptr;
  for (const ReportSection& s : page.sections)
    if (s.heading == "Selected fit: static, seed 0") section = &s;
  ASSERT_NE(section, nullptr);
  EXPECT_NE(section->html.find("The checkpoint could not be used"), std::string::npos) << section->html;
  ASSERT_EQ(section->charts.size(), 1u);  // the training curve only
  const json& rows = section->charts[0].spec.at("data").at("values");
  EXPECT_EQ(rows,
            json::parse(R"([{"iteration": 1, "loss": 0.5, "set": "train"}, {"iteration": 1, "loss": 0.6, "set": "test"},
                                  {"iteration": 2, "loss": 0.55, "set": "test"}, {"iteration": 3, "loss": 0.4, "set": "train"}])"));
  EXPECT_NE(find_chart(page, "Eigenvalues of W(k) — full, seed 0"), nullptr);  // the other fits are untouched
}

TEST(ReportCli, RefusesWhatIsNotAnOutputDirectoryAndWritesNothing) {
  const Outcome missing = run_ltrnn("report /nonexistent/ltrnn_out");
  EXPECT_EQ(missing.exit_code, 2) << missing.output;
  EXPECT_NE(missing.output.find("/nonexistent/ltrnn_out: not a directory"), std::string::npos) << missing.output;

  const ScratchDirectory scratch("empty");
  const fs::path empty = scratch.path();
  fs::create_directories(empty);
  const Outcome no_results = run_ltrnn("report " + empty.string());
  EXPECT_EQ(no_results.exit_code, 2) << no_results.output;
  EXPECT_NE(no_results.output.find((empty / "experiment.json").string() + ": not found"), std::string::npos)
      << no_results.output;
  write_file_atomic(empty / "experiment.json", "{\"name\": \"x\", \"dataset\": {}}");
  write_file_atomic(empty / "results.json", "{\"runs\": ");
  const Outcome bad_json = run_ltrnn("report " + empty.string());
  EXPECT_EQ(bad_json.exit_code, 2) << bad_json.output;
  EXPECT_NE(bad_json.output.find("results.json: not valid JSON"), std::string::npos) << bad_json.output;
  write_file_atomic(empty / "results.json", R"({"runs": [{"model": "tensor_rank", "status": "finished"}]})");
  const Outcome missing_field = run_ltrnn("report " + empty.string());
  EXPECT_EQ(missing_field.exit_code, 2) << missing_field.output;
  EXPECT_NE(missing_field.output.find("lacks a field the report needs"), std::string::npos) << missing_field.output;
  EXPECT_FALSE(fs::exists(empty / "report.html"));
  EXPECT_EQ(std::distance(fs::directory_iterator(empty), fs::directory_iterator()), 2);  // no temp files left
}

TEST(ReportCli, RegeneratesTheReportFromTheSavedResults) {
  const fs::path& dir = tiny_experiment_dir();
  const fs::path out = dir / "again.html";
  const Outcome outcome = run_ltrnn("report " + dir.string() + " --out " + out.string());
  EXPECT_EQ(outcome.exit_code, 0) << outcome.output;
  EXPECT_EQ(read_file(out), read_file(dir / "report.html"));  // the same results give the same page
}

// ---------------------------------------------------------------------------------------
// Headless Chromium opens the page from file:// (no network) and draws every chart.

std::string run_command(const std::string& command) {
  FILE* pipe = popen(command.c_str(), "r");
  std::string output;
  char buffer[4096];
  while (pipe && std::fgets(buffer, sizeof buffer, pipe)) output += buffer;
  if (pipe) pclose(pipe);
  return output;
}

std::string chromium_command(const fs::path& profile) {
  // --virtual-time-budget: Chromium waits (in virtual time) for the page's scripts to settle.
  return "timeout 180 chromium --headless --no-sandbox --disable-gpu --no-first-run --hide-scrollbars "
         "--user-data-dir=" +
         profile.string() + " --virtual-time-budget=60000";
}

// What the page recorded in #ltrnn-status after Chromium loaded it, and the drawn views.
struct BrowserOutcome {
  std::map<std::string, std::string> status;  // data-state, data-charts, data-rendered, ...
  std::string message;
  std::size_t views = 0;  // SVGs of class "marks": one per drawn chart
};

BrowserOutcome open_in_chromium(const fs::path& page, const fs::path& screenshot = {}) {
  const ScratchDirectory profile_directory("chromium_profile");
  const fs::path profile = profile_directory.path();
  const std::string dom =
      run_command(chromium_command(profile) + " --dump-dom file://" + page.string() + " 2>/dev/null");
  BrowserOutcome outcome;
  std::smatch status;
  if (std::regex_search(dom, status, std::regex("<p id=\"ltrnn-status\"([^>]*)>([^<]*)"))) {
    const std::string attributes = status[1];
    outcome.message = status[2];
    const std::regex attribute("(data-[a-z]+)=\"([^\"]*)\"");
    for (auto it = std::sregex_iterator(attributes.begin(), attributes.end(), attribute); it != std::sregex_iterator();
         ++it)
      outcome.status[(*it)[1]] = (*it)[2];
  }
  for (std::size_t at = dom.find("class=\"marks\""); at != std::string::npos; at = dom.find("class=\"marks\"", at + 1))
    ++outcome.views;
  if (!screenshot.empty())
    run_command(chromium_command(profile) + " --window-size=1300,9000 --screenshot=" + screenshot.string() +
                " file://" + page.string() + " >/dev/null 2>&1");
  return outcome;
}

void expect_every_chart_drawn_cleanly(const BrowserOutcome& outcome, int min_charts) {
  ASSERT_EQ(outcome.status.count("data-state"), 1u) << "no status element: the page did not load";
  EXPECT_EQ(outcome.status.at("data-state"), "done") << outcome.message;
  const int charts = std::stoi(outcome.status.at("data-charts"));
  EXPECT_GE(charts, min_charts);
  EXPECT_EQ(outcome.status.at("data-rendered"), std::to_string(charts)) << outcome.message;
  EXPECT_EQ(outcome.status.at("data-errors"), "0") << outcome.message;
  EXPECT_EQ(outcome.status.at("data-warnings"), "0") << outcome.message;
  EXPECT_EQ(outcome.views, static_cast<std::size_t>(charts));
}

fs::path artefact_directory() {
  // Pages and screenshots are kept under the build directory (CI artefacts).
  const fs::path artefacts = fs::path(LTRNN_BUILD_DIR) / "artifacts";
  fs::create_directories(artefacts);
  return artefacts;
}

TEST(ReportBrowser, ChromiumDrawsEveryChartOfAnExperimentWithoutConsoleErrors) {
  ASSERT_FALSE(run_command("command -v chromium").empty())
      << "chromium is not installed: run scripts/setup --with-test-tools";
  const fs::path page = artefact_directory() / "report_paper_reach_small.html";
  fs::copy_file(tiny_experiment_dir() / "report.html", page, fs::copy_options::overwrite_existing);
  const fs::path screenshot = artefact_directory() / "report_paper_reach_small.png";
  fs::remove(screenshot);
  expect_every_chart_drawn_cleanly(open_in_chromium(page, screenshot), 20);
  ASSERT_TRUE(fs::exists(screenshot));
  EXPECT_GT(fs::file_size(screenshot), 50'000u);
}

// The variants the tiny experiment does not reach: no ranked family, error bars cut on the
// log axis, negative (Poisson) losses on a linear axis, one-dimensional trajectories, a
// single condition and epoch, and epoch labels that look like markup.
TEST(ReportBrowser, ChromiumDrawsTheLessCommonChartVariants) {
  ASSERT_FALSE(run_command("command -v chromium").empty())
      << "chromium is not installed: run scripts/setup --with-test-tools";
  ReportSection section;
  section.heading = "Variants";
  Comparison unranked = comparison_results();
  unranked.runs = {unranked.runs.back()};
  unranked.table.rows = {unranked.table.rows.back()};
  unranked.table.selected_rank.clear();
  section.charts.push_back(rank_selection_chart(unranked.runs, unranked.table, {"full"}));
  Comparison wide = comparison_results();
  wide.table.rows[2].sem_nmse = wide.table.rows[2].score_se = 0.5;  // mean - s.e. < 0
  section.charts.push_back(rank_selection_chart(wide.runs, wide.table, {"tensor_rank", "full"}));
  EXPECT_NE(section.charts.back().caption.find("cut at a tenth"), std::string::npos);
  section.charts.push_back(
      training_curve_chart("poisson", json::parse(R"([{"iteration": 1, "loss": -0.5, "set": "train"},
      {"iteration": 2, "loss": -0.7, "set": "train"}, {"iteration": 1, "loss": -0.4, "set": "test"}])")));
  const std::vector<EpochSpan> spans = epoch_spans({"<!--<script>", "<!--<script>", "B&W"});
  section.charts.push_back(trial_factor_chart("odd labels", json::parse(R"([{"trial": 0, "component": "1", "value": 1},
      {"trial": 1, "component": "1", "value": 1.5}, {"trial": 2, "component": "1", "value": 0.5}])"),
                                              spans));
  section.charts.push_back(
      weight_change_chart("one epoch", json::parse(R"([{"trial": 0, "change": 0}, {"trial": 1, "change": 0.1}])"),
                          epoch_spans({"BL", "BL"})));
  json trajectory = json::array();
  for (int t = 0; t < 5; ++t)
    trajectory.push_back({{"time", 0.1 * t},
                          {"p1", std::sin(t)},
                          {"epoch", "BL"},
                          {"condition", "condition 0"},
                          {"trial", 0},
                          {"first", t == 0}});
  section.charts.push_back(trajectory_chart("rank 1", trajectory, "the column factor a_1", /*two_d=*/false));
  section.charts.push_back(eigenvalue_chart(
      "one epoch", json::parse(R"([{"re": 0.5, "im": 0, "epoch": "BL", "when": "first trial", "trial": 0},
      {"re": 0.4, "im": 0, "epoch": "BL", "when": "last trial", "trial": 1}])")));
  section.charts.push_back(prediction_chart("one condition", json::parse(R"([
      {"time": 0, "neuron": "neuron 0", "condition": "condition 5", "when": "first trial", "trial": 0, "recorded": 1, "predicted": 1.1},
      {"time": 0.1, "neuron": "neuron 0", "condition": "condition 5", "when": "first trial", "trial": 0, "recorded": 2, "predicted": 1.9}])"),
                                            "spike count per bin"));
  section.charts.push_back(
      loading_chart("one component", json::parse(R"([{"unit": 0, "component": "1", "factor": "column a_r", "value": 1},
      {"unit": 0, "component": "1", "factor": "row b_r", "value": -1}])")));
  section.charts.push_back(cp_error_chart("weights", false, json::parse(R"([{"rank": 1, "relative_error": 0.3}])")));
  section.charts.push_back(confusion_matrix_chart(json::parse(R"([{"planted": 1, "selected": 0, "count": 0},
      {"planted": 1, "selected": 1, "count": 5}, {"planted": 1, "selected": 2, "count": 1}])")));
  ReportPage page{"Variants", "", {section}};
  const fs::path file = artefact_directory() / "report_variants.html";
  write_file_atomic(file, render_report_html(page));
  expect_every_chart_drawn_cleanly(open_in_chromium(file), static_cast<int>(section.charts.size()));
}

// ---------------------------------------------------------------------------------------
// A sweep: a directory of output directories, compared on one page.

// Two cells made from the tiny experiment's saved files: the second with init_gain 0 and a
// CP error at rank 2 of 0.05 (the documents the sweep page reads, nothing refitted).
fs::path two_cell_sweep(const std::string& name) {
  const fs::path sweep = artefact_directory() / name;
  fs::remove_all(sweep);
  for (const char* cell : {"gain0.9", "gain0.0"}) {
    fs::create_directories(sweep / cell);
    for (const char* file : {"experiment.json", "results.json"})
      fs::copy_file(tiny_experiment_dir() / file, sweep / cell / file);
  }
  json experiment = json::parse(read_file(sweep / "gain0.0" / "experiment.json"));
  experiment["dataset"]["parameters"]["init_gain"] = 0.0;
  write_file_atomic(sweep / "gain0.0" / "experiment.json", experiment.dump());
  json results = json::parse(read_file(sweep / "gain0.0" / "results.json"));
  results["analyses"]["cp"]["errors"][1]["relative_error"] = 0.05;
  write_file_atomic(sweep / "gain0.0" / "results.json", results.dump());
  write_file_atomic(sweep / "gain0.0" / "analysis" / "ranks.json",
                    R"({"updates": {"max": {"rank_99": 3}}, "weights": {"max": {"rank_99": 4}}})");
  return sweep;
}

TEST(SweepReport, OneRowPerCellNamedByWhatDiffers) {
  const fs::path sweep = two_cell_sweep("sweep_rows");
  EXPECT_TRUE(is_sweep_directory(sweep));
  EXPECT_FALSE(is_sweep_directory(sweep / "gain0.0"));
  EXPECT_FALSE(is_sweep_directory(tiny_experiment_dir()));
  const Sweep s = load_sweep(sweep);
  ASSERT_EQ(s.cells.size(), 2u);
  EXPECT_EQ(s.varied, std::vector<std::string>{"init_gain"});
  const std::string table = format_sweep_table(s);
  const json results = json::parse(read_file(tiny_experiment_dir() / "results.json"));
  const int64_t selected = results["selected_rank"]["tensor_rank"].get<int64_t>();
  // The rows, sorted by directory name: init_gain 0 first, its dW rank from ranks.json.
  std::istringstream lines(table);
  std::string header, first, second;
  std::getline(lines, header);
  std::getline(lines, first);
  std::getline(lines, second);
  EXPECT_EQ(first.rfind("init_gain 0 ", 0), 0u) << table;
  EXPECT_EQ(second.rfind("init_gain 0.9 ", 0), 0u) << table;
  EXPECT_NE(first.find(" 3 "), std::string::npos) << table;
  EXPECT_NE(first.find(std::to_string(selected) + " of 2"), std::string::npos) << table;
  const ReportPage page = build_sweep_report(s);
  char cp_cell[64];
  std::snprintf(cp_cell, sizeof cp_cell, "<td>%.3f 0.050</td>",
                results["analyses"]["cp"]["errors"][0]["relative_error"].get<double>());
  EXPECT_NE(page.sections.front().html.find(cp_cell), std::string::npos) << page.sections.front().html;
  ASSERT_EQ(page.sections.back().charts.size(), 4u);
  const Chart& cp = page.sections.back().charts[1];
  EXPECT_EQ(cp.spec["data"]["values"].size(), 4u);  // 2 cells x ranks 1-2
  // A directory of unfinished cells is refused, naming what is missing.
  const fs::path unfinished = artefact_directory() / "sweep_unfinished";
  fs::remove_all(unfinished);
  fs::create_directories(unfinished / "cell");
  try {
    load_sweep(unfinished);
    FAIL() << "expected an error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("no finished experiment"), std::string::npos) << e.what();
  }
}

// results.json has "analyses" only when the experiment asked for some, and ranks.json comes
// from a separate command: a cell without either is shown with dashes, not read past its end.
TEST(SweepReport, CellsWithoutAnalysesOrRanksAreShownWithDashes) {
  const fs::path sweep = two_cell_sweep("sweep_without_analyses");
  json results = json::parse(read_file(sweep / "gain0.0" / "results.json"));
  results.erase("analyses");
  results.erase("reach");
  write_file_atomic(sweep / "gain0.0" / "results.json", results.dump());
  fs::remove_all(sweep / "gain0.0" / "analysis");
  const Sweep s = load_sweep(sweep);
  const std::string table = format_sweep_table(s);
  std::istringstream lines(table);
  std::string header, first;
  std::getline(lines, header);
  std::getline(lines, first);
  EXPECT_NE(first.find("     -      - "), std::string::npos) << table;  // no CP errors at ranks 5 and 6
  const ReportPage page = build_sweep_report(s);
  const Chart& cp = page.sections.back().charts[1];
  EXPECT_EQ(cp.spec["data"]["values"].size(), 2u);  // the other cell's ranks 1-2 only
  // A field of the wrong type is bad input, named.
  results["reach"] = {{"pretrain_rms_error", "low"}};
  write_file_atomic(sweep / "gain0.0" / "results.json", results.dump());
  try {
    format_sweep_table(load_sweep(sweep));
    FAIL() << "expected an error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("unexpected field"), std::string::npos) << e.what();
  }
}

TEST(SweepReport, TheCommandPrintsTheTableAndChromiumDrawsEveryChart) {
  const fs::path sweep = two_cell_sweep("sweep_page");
  const Outcome outcome = run_ltrnn("report " + sweep.string());
  ASSERT_EQ(outcome.exit_code, 0) << outcome.output;
  EXPECT_NE(outcome.output.find("init_gain 0.9"), std::string::npos) << outcome.output;
  EXPECT_NE(outcome.output.find("wrote " + (sweep / "report.html").string()), std::string::npos) << outcome.output;
  ASSERT_FALSE(run_command("command -v chromium").empty())
      << "chromium is not installed: run scripts/setup --with-test-tools";
  expect_every_chart_drawn_cleanly(open_in_chromium(sweep / "report.html"), 4);
}

}  // namespace
}  // namespace ltrnn
