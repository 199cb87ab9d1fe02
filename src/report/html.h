// The report page: sections of prose, tables and Vega-Lite charts, rendered into one
// self-contained HTML file (the vega, vega-lite and vega-embed builds of third_party/vega
// are inlined, so the page opens offline from file://).
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace ltrnn {

// One chart: a Vega-Lite specification with its title and a one-line caption saying what
// to read from it.
struct Chart {
  std::string title;
  std::string caption;
  nlohmann::json spec;  // Vega-Lite; the page adds the title and the $schema
};

struct ReportSection {
  std::string heading;
  std::string html;  // prose and tables, already escaped
  std::vector<Chart> charts;
};

struct ReportPage {
  std::string title;
  std::string html;  // a lead paragraph under the title, already escaped
  std::vector<ReportSection> sections;
};

// Text for HTML element content and attribute values: & < > " ' escaped.
std::string html_escape(const std::string& text);
// JSON that may sit inside <script> ... </script>: <, >, & and U+2028/9 written as \u
// escapes (they only occur inside strings, where the escapes mean the same).
std::string script_safe_json(const nlohmann::json& value);
// JavaScript source that may sit inside <script>: refuses any "</script" (the vendored
// builds contain none) and drops a trailing sourceMappingURL comment (no maps are shipped).
std::string script_safe_js(const std::string& source, const std::string& name);

// The whole page. The page records what happened when it ran in an element with id
// "ltrnn-status": data-state="done", data-charts (expected), data-rendered, data-errors
// and data-warnings (console errors and warnings, uncaught exceptions) -- the browser
// test reads these.
std::string render_report_html(const ReportPage& page);

// Versions of the inlined chart libraries, for the page footer and the tests.
std::string chart_library_versions();

}  // namespace ltrnn
