// The frames of attached sessions: encoding, reassembly from any chunking.
#define BOOST_TEST_MODULE runtime_attach_protocol
#include <boost/test/unit_test.hpp>

#include <vector>

#include "runtime/attach_protocol.h"

using namespace strata;
using namespace strata::runtime;

BOOST_AUTO_TEST_CASE(header_layout_is_dockers) {
  std::string f = EncodeFrame(FrameType::kStderr, "hi");
  BOOST_REQUIRE(f.size() == 10u);
  BOOST_TEST(f[0] == 2);
  BOOST_TEST((f[1] == 0 && f[2] == 0 && f[3] == 0));
  BOOST_TEST((f[4] == 0 && f[5] == 0 && f[6] == 0 && f[7] == 2));
  BOOST_TEST(f.substr(8) == "hi");
}

BOOST_AUTO_TEST_CASE(frames_reassemble_from_any_chunks) {
  std::string big(70000, 'x');
  std::string wire = EncodeFrame(FrameType::kStdout, "one") + EncodeFrame(FrameType::kStdin, "") +
                     EncodeFrame(FrameType::kStdout, big) +
                     EncodeFrame(FrameType::kExit, "{\"exit_code\":3}");
  for (size_t chunk : {size_t{1}, size_t{3}, size_t{8}, size_t{4096}, wire.size()}) {
    BOOST_TEST_CONTEXT("chunk " << chunk) {
      FrameDecoder d;
      std::vector<std::pair<FrameType, std::string>> got;
      for (size_t i = 0; i < wire.size(); i += chunk) {
        Status s =
            d.Feed(std::string_view(wire).substr(i, chunk), [&](FrameType t, std::string_view p) {
              got.emplace_back(t, std::string(p));
              return Ok();
            });
        BOOST_REQUIRE(s.ok());
      }
      BOOST_REQUIRE(got.size() == 4u);
      BOOST_TEST((got[0].first == FrameType::kStdout && got[0].second == "one"));
      BOOST_TEST((got[1].first == FrameType::kStdin && got[1].second.empty()));
      BOOST_TEST(got[2].second.size() == big.size());
      BOOST_TEST((got[3].first == FrameType::kExit));
    }
  }
}

BOOST_AUTO_TEST_CASE(oversized_frames_are_refused) {
  std::string header(8, '\0');
  header[4] = 0x7f;  // ~2 GB
  FrameDecoder d;
  Status s = d.Feed(header, [](FrameType, std::string_view) { return Ok(); });
  BOOST_TEST(!s.ok());
}
