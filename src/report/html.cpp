// The report page as one self-contained HTML file (see html.h).
#include "report/html.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

#include "util/resources.h"

namespace ltrnn {
using nlohmann::json;

namespace {

// The vendored chart libraries, in load order (vega-lite needs vega; vega-embed both).
struct ChartLibrary {
  const char* resource;
  const char* name;
  const char* version;
};
constexpr ChartLibrary kChartLibraries[] = {
    {"third_party/vega/vega.min.js", "vega", "6.4.0"},
    {"third_party/vega/vega-lite.min.js", "vega-lite", "6.5.0"},
    {"third_party/vega/vega-embed.min.js", "vega-embed", "7.3.0"},
};
constexpr const char* kVegaLiteSchema = "https://vega.github.io/schema/vega-lite/v6.json";

constexpr const char* kStyle = R"css(
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #1b1b1b;
       background: #fafafa; line-height: 1.45; }
header, main, footer { max-width: 1280px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 24px; }
h1 { font-size: 1.7em; margin-bottom: 0.2em; }
h2 { font-size: 1.3em; border-bottom: 1px solid #ddd; padding-bottom: 4px; margin-top: 2em; }
nav a { margin-right: 14px; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 0.9em; background: #fff; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.selected td { background: #fff4c2; font-weight: 600; }
figure { background: #fff; border: 1px solid #e3e3e3; border-radius: 4px; margin: 16px 0; padding: 12px;
         overflow-x: auto; }
figcaption { color: #444; font-size: 0.92em; margin-top: 6px; }
figcaption b { color: #1b1b1b; }
.chart-error { color: #b00020; font-family: monospace; }
.note { color: #555; font-size: 0.92em; }
.selection { background: #fff4c2; border-left: 4px solid #e0b000; padding: 8px 12px; }
footer { color: #666; font-size: 0.85em; padding-bottom: 32px; margin-top: 32px; }
)css";

// Runs first: records uncaught errors and console errors/warnings, so that the page (and
// the browser test) can tell whether every chart drew cleanly.
constexpr const char* kErrorCapture = R"js(
window.ltrnnLog = { errors: [], warnings: [] };
(function () {
  var log = window.ltrnnLog;
  window.addEventListener('error', function (event) { log.errors.push(String(event.message)); });
  window.addEventListener('unhandledrejection', function (event) { log.errors.push(String(event.reason)); });
  var consoleError = console.error, consoleWarn = console.warn;
  console.error = function () { log.errors.push(Array.prototype.join.call(arguments, ' ')); consoleError.apply(console, arguments); };
  console.warn = function () { log.warnings.push(Array.prototype.join.call(arguments, ' ')); consoleWarn.apply(console, arguments); };
})();
)js";

// Draws every chart with vega-embed (SVG renderer; the menu offers SVG and PNG export and
// nothing that needs the network), then writes the outcome into #ltrnn-status.
constexpr const char* kRenderCharts = R"js(
(function () {
  var status = document.getElementById('ltrnn-status');
  var charts = JSON.parse(document.getElementById('ltrnn-charts').textContent);
  var rendered = 0;
  var options = { renderer: 'svg', actions: { export: true, source: false, compiled: false, editor: false } };
  function finish() {
    var log = window.ltrnnLog;
    status.setAttribute('data-rendered', String(rendered));
    status.setAttribute('data-errors', String(log.errors.length));
    status.setAttribute('data-warnings', String(log.warnings.length));
    status.setAttribute('data-state', 'done');
    status.textContent = rendered + ' of ' + charts.length + ' charts drawn' +
      (log.errors.length ? '; ' + log.errors.length + ' error(s): ' + log.errors.join(' | ') : '') +
      (log.warnings.length ? '; ' + log.warnings.length + ' warning(s): ' + log.warnings.join(' | ') : '') + '.';
  }
  if (typeof vegaEmbed !== 'function') { window.ltrnnLog.errors.push('vega-embed did not load'); finish(); return; }
  Promise.all(charts.map(function (chart) {
    return vegaEmbed('#' + chart.id, chart.spec, options).then(function () { rendered += 1; }, function (error) {
      window.ltrnnLog.errors.push(chart.id + ': ' + error);
      var box = document.getElementById(chart.id);
      box.className = 'chart-error';
      box.textContent = 'This chart could not be drawn: ' + error;
    });
  })).then(finish, finish);
})();
)js";

std::string figure_html(const Chart& chart, const std::string& id) {
  std::ostringstream out;
  out << "<figure>\n<div class=\"chart\" id=\"" << id << "\"></div>\n<figcaption><b>" << html_escape(chart.title)
      << ".</b> " << html_escape(chart.caption) << "</figcaption>\n</figure>\n";
  return out.str();
}

// Chart data carry 5 significant digits: plenty for a figure, and the page stays small
// (JSON would otherwise print 17 digits per number).
void round_floats(json& value) {
  if (value.is_number_float()) {
    const double x = value.get<double>();
    if (std::isfinite(x) && x != 0) {
      const double scale = std::pow(10.0, 4 - static_cast<int>(std::floor(std::log10(std::abs(x)))));
      const double rounded = std::round(x * scale) / scale;
      if (std::isfinite(rounded)) value = rounded;  // (subnormal x: the scale overflows)
    }
  } else if (value.is_structured()) {
    for (json& element : value) round_floats(element);
  }
}

std::string section_anchor(std::size_t index) { return "section-" + std::to_string(index + 1); }

}  // namespace

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string script_safe_json(const json& value) {
  // <, > and & can only occur inside JSON strings; as \u escapes they mean the same and
  // the HTML parser never sees "</script" or "<!--" (which would end or hide the element).
  const std::string text = value.dump(-1, ' ', /*ensure_ascii=*/false, json::error_handler_t::replace);
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '<') {
      out += "\\u003c";
    } else if (text[i] == '>') {
      out += "\\u003e";
    } else if (text[i] == '&') {
      out += "\\u0026";
    } else if (text.compare(i, 3, "\xE2\x80\xA8") == 0) {
      out += "\\u2028";
      i += 2;
    } else if (text.compare(i, 3, "\xE2\x80\xA9") == 0) {
      out += "\\u2029";
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::string script_safe_js(const std::string& source, const std::string& name) {
  std::string lowered = source;
  for (char& c : lowered) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lowered.find("</script") != std::string::npos)
    throw std::logic_error(name + " contains \"</script\" and cannot be inlined into a <script> element");
  std::string out = source;
  const std::size_t map = out.rfind("//# sourceMappingURL=");
  if (map != std::string::npos) {
    const std::size_t line_end = out.find('\n', map);
    // Only when the comment is the file's last line (trailing whitespace aside).
    if (line_end == std::string::npos || out.find_first_not_of(" \t\r\n", line_end) == std::string::npos)
      out.erase(map);
  }
  return out;
}

std::string chart_library_versions() {
  std::string out;
  for (const ChartLibrary& library : kChartLibraries)
    out += (out.empty() ? "" : ", ") + std::string(library.name) + " " + library.version;
  return out;
}

std::string render_report_html(const ReportPage& page) {
  // 1. Chart containers, and the specifications the script draws into them.
  json charts = json::array();
  std::ostringstream body;
  std::size_t chart_count = 0;
  for (std::size_t s = 0; s < page.sections.size(); ++s) {
    const ReportSection& section = page.sections[s];
    body << "<section id=\"" << section_anchor(s) << "\">\n<h2>" << html_escape(section.heading) << "</h2>\n"
         << section.html << "\n";
    for (const Chart& chart : section.charts) {
      const std::string id = "chart-" + std::to_string(++chart_count);
      json spec = chart.spec;
      round_floats(spec);
      spec["$schema"] = kVegaLiteSchema;
      if (!spec.contains("title")) spec["title"] = chart.title;
      charts.push_back({{"id", id}, {"spec", spec}});
      body << figure_html(chart, id);
    }
    body << "</section>\n";
  }

  // 2. The page: libraries and error capture in <head>, content, then the chart script.
  std::ostringstream html;
  html << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
       << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
       << "<title>" << html_escape(page.title) << "</title>\n<style>" << kStyle << "</style>\n"
       << "<script>" << kErrorCapture << "</script>\n";
  for (const ChartLibrary& library : kChartLibraries)
    html << "<script>/* " << library.name << " " << library.version << ", BSD-3-Clause, University of Washington "
         << "Interactive Data Lab (third_party/vega/LICENSE." << library.name << ") */\n"
         << script_safe_js(embedded_resource(library.resource), library.resource) << "\n</script>\n";
  html << "</head>\n<body>\n<header>\n<h1>" << html_escape(page.title) << "</h1>\n" << page.html << "\n<nav>";
  for (std::size_t s = 0; s < page.sections.size(); ++s)
    html << "<a href=\"#" << section_anchor(s) << "\">" << html_escape(page.sections[s].heading) << "</a>";
  html << "</nav>\n</header>\n<main>\n"
       << body.str() << "</main>\n<footer>\n<p id=\"ltrnn-status\" data-state=\"running\""
       << " data-charts=\"" << chart_count << "\">Drawing " << chart_count << " charts…</p>\n"
       << "<p>Charts drawn in the browser with " << chart_library_versions()
       << " (inlined; no network needed). Each chart's menu (…) saves it as SVG or PNG.</p>\n</footer>\n"
       << "<script type=\"application/json\" id=\"ltrnn-charts\">" << script_safe_json(charts) << "</script>\n"
       << "<script>" << kRenderCharts << "</script>\n</body>\n</html>\n";
  return html.str();
}

}  // namespace ltrnn
