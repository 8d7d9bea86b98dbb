#include "storage/tar_reader.h"

#include <algorithm>
#include <cstring>

namespace strata::storage {

namespace {

constexpr size_t kBlock = 512;

// ustar header field offsets and sizes.
struct Field {
  size_t off, len;
};
constexpr Field kName{0, 100}, kMode{100, 8}, kUid{108, 8}, kGid{116, 8}, kSize{124, 12},
    kMtime{136, 12}, kChksum{148, 8}, kLinkname{157, 100}, kMagic{257, 8}, kDevmajor{329, 8},
    kDevminor{337, 8}, kPrefix{345, 155};

std::string_view FieldView(const char* block, Field f) {
  std::string_view v(block + f.off, f.len);
  return v.substr(0, v.find('\0'));
}

// An octal field (space/NUL terminated), or GNU base-256 when the top bit of
// the first byte is set.
bool ParseNumber(const char* block, Field f, uint64_t* out) {
  auto first = static_cast<unsigned char>(block[f.off]);
  if (first & 0x80) {
    if (first & 0x40) return false;  // negative
    uint64_t v = first & 0x3f;
    for (size_t i = 1; i < f.len; ++i) {
      if (v >> 56) return false;
      v = v << 8 | static_cast<unsigned char>(block[f.off + i]);
    }
    *out = v;
    return true;
  }
  uint64_t v = 0;
  size_t i = 0;
  while (i < f.len && block[f.off + i] == ' ') ++i;
  bool any = false;
  for (; i < f.len; ++i) {
    char c = block[f.off + i];
    if (c == '\0' || c == ' ') break;
    if (c < '0' || c > '7') return false;
    if (v >> 60) return false;
    v = v * 8 + static_cast<uint64_t>(c - '0');
    any = true;
  }
  *out = any ? v : 0;
  return true;
}

// A signed field: octal, or base-256 two's complement (GNU tar and
// libarchive write pre-1970 times so).
bool ParseSignedNumber(const char* block, Field f, int64_t* out) {
  auto first = static_cast<unsigned char>(block[f.off]);
  if ((first & 0xc0) != 0xc0) {
    uint64_t v;
    if (!ParseNumber(block, f, &v) || v > static_cast<uint64_t>(INT64_MAX)) return false;
    *out = static_cast<int64_t>(v);
    return true;
  }
  // Negative: the field is a big-endian two's complement number; all but
  // its last 8 bytes must be sign (0xff).
  for (size_t i = 0; i + 8 < f.len; ++i) {
    if (static_cast<unsigned char>(block[f.off + i]) != 0xff) return false;
  }
  uint64_t v = 0;
  for (size_t i = f.len - 8; i < f.len; ++i) v = v << 8 | static_cast<unsigned char>(block[f.off + i]);
  *out = static_cast<int64_t>(v);
  return true;
}

bool ChecksumOk(const char* block) {
  uint64_t stored;
  if (!ParseNumber(block, kChksum, &stored)) return false;
  uint64_t unsigned_sum = 0;
  int64_t signed_sum = 0;
  for (size_t i = 0; i < kBlock; ++i) {
    bool in_chksum = i >= kChksum.off && i < kChksum.off + kChksum.len;
    unsigned char c = in_chksum ? ' ' : static_cast<unsigned char>(block[i]);
    unsigned_sum += c;
    signed_sum += static_cast<signed char>(in_chksum ? ' ' : block[i]);
  }
  return stored == unsigned_sum || static_cast<int64_t>(stored) == signed_sum;
}

bool AllZero(const char* block) {
  return std::all_of(block, block + kBlock, [](char c) { return c == 0; });
}

uint64_t Padding(uint64_t size) { return (kBlock - size % kBlock) % kBlock; }

// Parses a decimal pax time "sec[.frac]".
bool ParsePaxTime(std::string_view v, int64_t* sec, uint32_t* nsec) {
  bool neg = !v.empty() && v[0] == '-';
  if (neg) v.remove_prefix(1);
  size_t dot = v.find('.');
  std::string_view whole = v.substr(0, dot);
  if (whole.empty() || whole.size() > 18) return false;
  int64_t s = 0;
  for (char c : whole) {
    if (c < '0' || c > '9') return false;
    s = s * 10 + (c - '0');
  }
  uint32_t ns = 0;
  if (dot != std::string_view::npos) {
    std::string_view frac = v.substr(dot + 1);
    for (size_t i = 0; i < 9; ++i) {
      char c = i < frac.size() ? frac[i] : '0';
      if (c < '0' || c > '9') return false;
      ns = ns * 10 + static_cast<uint32_t>(c - '0');
    }
  }
  *sec = neg ? -s : s;
  *nsec = ns;
  return true;
}

bool ParseDecimal(std::string_view v, uint64_t* out) {
  if (v.empty() || v.size() > 19) return false;
  uint64_t r = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return false;
    r = r * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = r;
  return true;
}

}  // namespace

TarReader::TarReader(ByteSource* source, TarLimits limits) : source_(source), limits_(limits) {}

Result<size_t> TarReader::Fill(size_t want) {
  if (pos_ > 0 && pos_ >= buf_.size() / 2) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  while (buf_.size() - pos_ < want) {
    size_t old = buf_.size();
    size_t chunk = std::max<size_t>(want - (old - pos_), 1 << 16);
    buf_.resize(old + chunk);
    auto got = source_->Read(buf_.data() + old, chunk);
    if (!got.ok()) {
      buf_.resize(old);
      return std::move(got).error();
    }
    buf_.resize(old + *got);
    if (*got == 0) break;
  }
  return buf_.size() - pos_;
}

Status TarReader::TakeRaw(size_t n, std::string* raw) {
  while (n > 0) {
    ASSIGN_OR_RETURN(size_t avail, Fill(std::min<size_t>(n, 1 << 16)));
    if (avail == 0) return Error::Corrupt("tar: unexpected end of archive at offset " +
                                          std::to_string(offset_));
    size_t take = std::min(avail, n);
    raw->append(buf_, pos_, take);
    pos_ += take;
    offset_ += take;
    n -= take;
  }
  return Ok();
}

Result<size_t> TarReader::ReadData(char* out, size_t n) {
  ASSIGN_OR_RETURN(std::string_view data, ReadDataView(n));
  // An empty view may have no data pointer at all, which memcpy must not get.
  if (!data.empty()) std::memcpy(out, data.data(), data.size());
  return data.size();
}

Result<std::string_view> TarReader::ReadDataView(size_t n) {
  if (data_left_ == 0 || n == 0) return std::string_view();
  size_t want = static_cast<size_t>(std::min<uint64_t>(n, data_left_));
  ASSIGN_OR_RETURN(size_t avail, Fill(std::min<size_t>(want, 1 << 16)));
  if (avail == 0) {
    return Error::Corrupt("tar: archive ends inside an entry's content (" +
                          std::to_string(data_left_) + " bytes missing)");
  }
  size_t take = std::min(avail, want);
  std::string_view data(buf_.data() + pos_, take);
  pos_ += take;
  offset_ += take;
  data_left_ -= take;
  return data;
}

Status TarReader::ApplyPax(std::string_view records, bool global, TarHeader*,
                           std::map<std::string, std::string>* local) {
  // Each record is "<len> <key>=<value>\n", len counting the whole record.
  while (!records.empty()) {
    size_t space = records.find(' ');
    uint64_t len;
    if (space == std::string_view::npos || !ParseDecimal(records.substr(0, space), &len) ||
        len <= space + 1 || len > records.size() || records[len - 1] != '\n') {
      if (std::all_of(records.begin(), records.end(), [](char c) { return c == 0; })) break;
      return Error::Corrupt("tar: malformed pax record at offset " + std::to_string(offset_));
    }
    std::string_view kv = records.substr(space + 1, len - space - 2);
    records.remove_prefix(len);
    size_t eq = kv.find('=');
    if (eq == std::string_view::npos) {
      return Error::Corrupt("tar: pax record without '=' at offset " + std::to_string(offset_));
    }
    std::string key(kv.substr(0, eq));
    std::string value(kv.substr(eq + 1));
    if (global) {
      global_pax_[key] = value;
    } else {
      (*local)[key] = value;
    }
  }
  return Ok();
}

Result<bool> TarReader::Next(TarHeader* h, std::string* raw) {
  if (done_) return false;
  // Whatever of the previous entry was not read as content is raw: unread
  // bytes of a non-file entry must all be there; the padding after the last
  // entry may be cut short by writers that end the stream right there.
  RETURN_IF_ERROR(TakeRaw(static_cast<size_t>(data_left_), raw));
  data_left_ = 0;
  while (padding_left_ > 0) {
    ASSIGN_OR_RETURN(size_t avail, Fill(static_cast<size_t>(padding_left_)));
    if (avail == 0) {
      done_ = true;
      return false;
    }
    size_t take = std::min<size_t>(avail, static_cast<size_t>(padding_left_));
    RETURN_IF_ERROR(TakeRaw(take, raw));
    padding_left_ -= take;
  }

  std::map<std::string, std::string> pax;
  std::string gnu_longname, gnu_longlink;
  bool have_longname = false, have_longlink = false;
  for (;;) {
    ASSIGN_OR_RETURN(size_t avail, Fill(kBlock));
    if (avail == 0) {
      // No end-of-archive blocks: accepted (some writers omit them).
      done_ = true;
      return false;
    }
    if (avail < kBlock) return Error::Corrupt("tar: truncated header at offset " +
                                              std::to_string(offset_));
    const char* block = buf_.data() + pos_;
    if (AllZero(block)) {
      // End of archive: keep the end blocks and whatever follows verbatim.
      done_ = true;
      RETURN_IF_ERROR(TakeRaw(kBlock, raw));
      uint64_t trailing = 0;
      for (;;) {
        ASSIGN_OR_RETURN(size_t more, Fill(1));
        if (more == 0) break;
        trailing += more;
        if (trailing > limits_.max_trailing_bytes) {
          return Error::Invalid("tar: more than " + std::to_string(limits_.max_trailing_bytes) +
                                " bytes after the end of the archive");
        }
        RETURN_IF_ERROR(TakeRaw(more, raw));
      }
      return false;
    }
    if (!ChecksumOk(block)) {
      return Error::Corrupt("tar: bad header checksum at offset " + std::to_string(offset_));
    }
    char type = block[156];
    uint64_t size;
    if (!ParseNumber(block, kSize, &size)) {
      return Error::Corrupt("tar: bad size field at offset " + std::to_string(offset_));
    }
    if (type == 'x' || type == 'g' || type == 'L' || type == 'K') {
      if (size > limits_.max_extension_bytes) {
        return Error::Invalid("tar: extension header of " + std::to_string(size) +
                              " bytes at offset " + std::to_string(offset_));
      }
      RETURN_IF_ERROR(TakeRaw(kBlock, raw));
      size_t start = raw->size();
      RETURN_IF_ERROR(TakeRaw(static_cast<size_t>(size + Padding(size)), raw));
      std::string_view body(raw->data() + start, static_cast<size_t>(size));
      if (type == 'x' || type == 'g') {
        RETURN_IF_ERROR(ApplyPax(body, type == 'g', h, &pax));
      } else {
        std::string_view name = body.substr(0, body.find('\0'));
        (type == 'L' ? gnu_longname : gnu_longlink).assign(name);
        (type == 'L' ? have_longname : have_longlink) = true;
      }
      continue;
    }

    // An entry header.
    *h = TarHeader();
    h->typeflag = type == '\0' ? '0' : type;
    std::string_view magic(block + kMagic.off, 6);
    std::string name(FieldView(block, kName));
    if (magic == std::string_view("ustar\0", 6)) {
      std::string prefix(FieldView(block, kPrefix));
      if (!prefix.empty()) name = prefix + "/" + name;
    }
    h->path = have_longname ? gnu_longname : name;
    h->link = have_longlink ? gnu_longlink : std::string(FieldView(block, kLinkname));
    uint64_t mode, uid, gid, major, minor;
    int64_t mtime;
    if (!ParseNumber(block, kMode, &mode) || !ParseNumber(block, kUid, &uid) ||
        !ParseNumber(block, kGid, &gid) || !ParseSignedNumber(block, kMtime, &mtime) ||
        !ParseNumber(block, kDevmajor, &major) || !ParseNumber(block, kDevminor, &minor)) {
      return Error::Corrupt("tar: bad numeric field in header of \"" + h->path + "\"");
    }
    h->mode = static_cast<uint32_t>(mode & 07777);
    h->uid = static_cast<uint32_t>(uid);
    h->gid = static_cast<uint32_t>(gid);
    h->mtime_sec = mtime;
    h->devmajor = static_cast<uint32_t>(major);
    h->devminor = static_cast<uint32_t>(minor);
    h->size = size;

    // pax: global records first, then this entry's own.
    std::map<std::string, std::string> merged = global_pax_;
    for (auto& [k, v] : pax) merged[k] = v;
    for (const auto& [key, value] : merged) {
      uint64_t n;
      if (key == "path") {
        h->path = value;
      } else if (key == "linkpath") {
        h->link = value;
      } else if (key == "size") {
        if (!ParseDecimal(value, &n)) return Error::Corrupt("tar: bad pax size");
        h->size = n;
      } else if (key == "uid" || key == "gid") {
        if (!ParseDecimal(value, &n) || n > UINT32_MAX) return Error::Corrupt("tar: bad pax " + key);
        (key == "uid" ? h->uid : h->gid) = static_cast<uint32_t>(n);
      } else if (key == "mtime") {
        if (!ParsePaxTime(value, &h->mtime_sec, &h->mtime_nsec)) {
          return Error::Corrupt("tar: bad pax mtime \"" + value + "\"");
        }
      } else if (key.rfind("SCHILY.xattr.", 0) == 0) {
        h->xattrs.emplace_back(key.substr(13), value);
      } else if (key.rfind("GNU.sparse.", 0) == 0) {
        return Error::Invalid("tar: sparse file \"" + h->path + "\" is not supported");
      }
    }
    std::sort(h->xattrs.begin(), h->xattrs.end());

    switch (h->typeflag) {
      case '0': case '7': case '1': case '2': case '3': case '4': case '5': case '6':
        break;
      case 'S':
        return Error::Invalid("tar: sparse file \"" + h->path + "\" is not supported");
      default:
        return Error::Invalid(std::string("tar: entry \"") + h->path + "\" has unsupported type '" +
                              h->typeflag + "'");
    }
    RETURN_IF_ERROR(TakeRaw(kBlock, raw));
    // Only regular files carry content; other types' data bytes (if any)
    // stay raw and are read into the next segment.
    if (h->typeflag == '0' || h->typeflag == '7') {
      data_left_ = h->size;
      padding_left_ = Padding(h->size);
    } else {
      if (h->size > limits_.max_extension_bytes) {
        return Error::Invalid("tar: non-file entry \"" + h->path + "\" claims " +
                              std::to_string(h->size) + " bytes of content");
      }
      data_left_ = 0;
      padding_left_ = h->size + Padding(h->size);
      h->size = 0;
    }
    return true;
  }
}

}  // namespace strata::storage
