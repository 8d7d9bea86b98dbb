#include "runtime/root_lookups.h"

#include <boost/json.hpp>

#include "runtime/container_path.h"

namespace strata::runtime {

namespace json = boost::json;

Result<RootLookups> LookUpInRoot(ChildReaper& reaper, const std::string& root,
                                 const std::string& user,
                                 const std::vector<std::string>& destinations) {
  // In the child: the first failure, or {uid, gid, gids, destinations}.
  auto look = [&]() -> Result<std::string> {
    ASSIGN_OR_RETURN(ProcessUser u, ResolveUser(root, user));
    json::array gids, dests;
    for (uint32_t g : u.additional_gids) gids.emplace_back(g);
    for (const auto& d : destinations) {
      auto resolved = ResolveInContainer(root, d);
      if (!resolved.ok()) return std::move(resolved).error().Context("volume " + d);
      dests.emplace_back(*resolved);
    }
    return json::serialize(json::object{{"uid", u.uid},
                                        {"gid", u.gid},
                                        {"gids", std::move(gids)},
                                        {"destinations", std::move(dests)}});
  };
  ASSIGN_OR_RETURN(std::string answer, reaper.Call(look, kRootLookupTimeout));

  RootLookups out;
  try {
    const json::object doc = json::parse(answer).as_object();
    out.user.uid = static_cast<uint32_t>(doc.at("uid").to_number<uint64_t>());
    out.user.gid = static_cast<uint32_t>(doc.at("gid").to_number<uint64_t>());
    for (const auto& g : doc.at("gids").as_array()) {
      out.user.additional_gids.push_back(static_cast<uint32_t>(g.to_number<uint64_t>()));
    }
    for (const auto& d : doc.at("destinations").as_array()) {
      out.destinations.emplace_back(d.as_string());
    }
  } catch (const std::exception& e) {
    // Only our own child writes the answer: a malformed one is a bug here.
    return Error(EPROTO, std::string("the root lookup's answer is malformed: ") + e.what());
  }
  if (out.destinations.size() != destinations.size()) {
    return Error(EPROTO, "the root lookup answered for " + std::to_string(out.destinations.size()) +
                             " of " + std::to_string(destinations.size()) + " destinations");
  }
  return out;
}

}  // namespace strata::runtime
