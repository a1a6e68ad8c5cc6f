// lsmd's flags and their help text: the table `lsmd --help` prints. Split
// from options.cc, which parses and validates what the table names.
#pragma once

#include <boost/program_options/options_description.hpp>
#include <string>

namespace lsmd::server {

// Every flag lsmd takes, with its help line.
boost::program_options::options_description Describe();

// The whole `lsmd --help` text around desc.
std::string HelpText(const boost::program_options::options_description& desc);

}  // namespace lsmd::server
