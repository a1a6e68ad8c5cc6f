#include "bench/loadgen/options.h"

#include <boost/program_options.hpp>
#include <charconv>
#include <iostream>

namespace po = boost::program_options;

namespace lsmd::loadgen {

std::string_view OpName(OpType op) { return op == OpType::kPut ? "put" : "get"; }

Status ParseMix(std::string_view text, std::array<int, kOpTypes>* weights) {
  weights->fill(0);
  int total = 0;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    std::string_view part = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    const size_t colon = part.find(':');
    if (colon == std::string_view::npos) {
      return Status::InvalidArgument("--mix: '" + std::string(part) + "' is not op:weight");
    }
    std::string_view name = part.substr(0, colon);
    std::string_view number = part.substr(colon + 1);
    int weight = 0;
    auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), weight);
    if (ec != std::errc() || end != number.data() + number.size() || weight < 0) {
      return Status::InvalidArgument("--mix: '" + std::string(number) + "' is not a weight");
    }
    if (name == "put") {
      (*weights)[static_cast<int>(OpType::kPut)] += weight;
    } else if (name == "get") {
      (*weights)[static_cast<int>(OpType::kGet)] += weight;
    } else {
      return Status::InvalidArgument("--mix: unknown op '" + std::string(name) +
                                     "' (use put and get)");
    }
    total += weight;
  }
  if (total <= 0) return Status::InvalidArgument("--mix: no op has a weight above 0");
  return Status::OK();
}

int ParseLoadgenOptions(int argc, char** argv, LoadgenOptions* options) {
  po::options_description desc(
      "loadgen: drives a running lsmd over TCP and reports throughput and latency.\n"
      "Each connection owns the keys i with i % connections == its index, remembers what it\n"
      "put, and checks every get against it; any error reply or wrong value exits 1.\n\n"
      "Options");
  int port = options->port;
  // clang-format off
  desc.add_options()
      ("host", po::value(&options->host)->default_value(options->host), "server address")
      ("port", po::value(&port)->default_value(port), "server port")
      ("connections,c", po::value(&options->connections)->default_value(options->connections),
       "concurrent connections")
      ("pipeline,P", po::value(&options->pipeline)->default_value(options->pipeline),
       "requests sent together on a connection before its replies are read")
      ("requests,n", po::value(&options->requests)->default_value(0),
       "total requests (default 100000 unless --duration)")
      ("duration", po::value(&options->duration_seconds)->default_value(0),
       "run for this many seconds instead of a request count")
      ("mix", po::value(&options->mix_text)->default_value(options->mix_text),
       "operation weights, e.g. put:100 or put:50,get:50")
      ("keys,r", po::value(&options->keys)->default_value(options->keys), "key space size")
      ("value-bytes,d", po::value(&options->value_bytes)->default_value(options->value_bytes),
       "value size (at least 32: a value names its key and version)")
      ("threads", po::value(&options->threads)->default_value(options->threads),
       "threads running the connections")
      ("flush-every-mib", po::value(&options->flush_every_mib)->default_value(0),
       "send sstable_flush on a side connection after every N MiB of puts and report put "
       "latency during flushes and outside them separately")
      ("stats-poll-ms", po::value(&options->stats_poll_ms)->default_value(0),
       "poll stats on a side connection every N ms to see flushes (default 5 with "
       "--flush-every-mib, else off)")
      ("no-progress", "no progress line on stderr each second")
      ("seed", po::value(&options->seed)->default_value(options->seed), "random seed")
      ("help,h", "print this help");
  // clang-format on
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::cerr << "loadgen: " << e.what() << "\n";
    return 2;
  }
  if (vm.count("help")) {
    std::cout << desc;
    return 0;
  }
  options->progress = vm.count("no-progress") == 0;
  auto bad = [](const std::string& why) {
    std::cerr << "loadgen: " << why << "\n";
    return 2;
  };
  if (port <= 0 || port > 65535) return bad("--port must be 1..65535");
  options->port = static_cast<uint16_t>(port);
  if (options->connections < 1) return bad("--connections must be at least 1");
  if (options->pipeline < 1) return bad("--pipeline must be at least 1");
  if (options->threads < 1) return bad("--threads must be at least 1");
  if (options->duration_seconds < 0) return bad("--duration must not be negative");
  if (options->requests == 0 && options->duration_seconds == 0) options->requests = 100'000;
  if (options->keys < static_cast<uint64_t>(options->connections)) {
    return bad("--keys must be at least --connections (each connection owns its keys)");
  }
  if (options->value_bytes < 32) return bad("--value-bytes must be at least 32");
  if (options->flush_every_mib < 0) return bad("--flush-every-mib must not be negative");
  if (options->stats_poll_ms < 0) return bad("--stats-poll-ms must not be negative");
  if (options->flush_every_mib > 0 && options->stats_poll_ms == 0) options->stats_poll_ms = 5;
  Status mix = ParseMix(options->mix_text, &options->mix_weights);
  if (!mix.ok()) return bad(mix.message());
  return -1;
}

}  // namespace lsmd::loadgen
