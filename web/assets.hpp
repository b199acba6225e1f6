// The dashboard's files, embedded into the binary at build time (web/embed.cmake): the npm
// build's output, or the fallback page when the build was configured with SUNKEEP_WEB=OFF.
#pragma once

#include "api/static_files.hpp"

#include <span>

namespace sunkeep::web {

std::span<const api::StaticFile> files();

}  // namespace sunkeep::web
