// The coroutines of a loadgen run, all on one io_context:
//  - RunLoadConnection: one per --connections, sends the load and checks it;
//  - RunStatsPoller and RunFlusher: side connections that see flushes;
//  - RunProgress: a line on stderr each second.
// Each coroutine owns its socket and buffers; what they share is RunState.
//
// Note: co_await is never used inside a condition here (g++ 12 miscompiles
// `if (co_await ...)`); results are awaited into locals first.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "bench/loadgen/flush_windows.h"
#include "bench/loadgen/options.h"
#include "bench/loadgen/run_state.h"

namespace lsmd::loadgen {

// Connection `index` of `options.connections` owns keys i with
// i % connections == index; it remembers the version it last put of each and
// checks every get against it. report->put_samples is filled only when
// keep_put_samples.
boost::asio::awaitable<void> RunLoadConnection(boost::asio::ip::tcp::endpoint endpoint, int index,
                                               const LoadgenOptions& options, RunState& state,
                                               bool keep_put_samples, ConnectionReport* report);

// Every options.stats_poll_ms until the run stops.
boost::asio::awaitable<void> RunStatsPoller(boost::asio::ip::tcp::endpoint endpoint,
                                            const LoadgenOptions& options, RunState& state,
                                            FlushWindows* windows);

// sstable_flush each time another options.flush_every_mib of put bytes (key
// + value) has been acknowledged.
boost::asio::awaitable<void> RunFlusher(boost::asio::ip::tcp::endpoint endpoint,
                                        const LoadgenOptions& options, RunState& state,
                                        FlushWindows* windows);

boost::asio::awaitable<void> RunProgress(RunState& state);

}  // namespace lsmd::loadgen
