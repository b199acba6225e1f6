// Sermatec answer decoding.
#include "protocol/sermatec/decode.hpp"

#include <algorithm>
#include <cmath>

namespace sunkeep::sermatec {

namespace {

constexpr std::uint16_t flag_on = 0xEE00;
constexpr std::uint16_t flag_off = 0x00EE;
constexpr std::uint8_t status_charging = 0x11;
constexpr std::uint8_t status_discharging = 0x22;
constexpr std::uint8_t status_standby = 0x33;
constexpr std::size_t password_offset = 31;
constexpr std::size_t password_size = 30;

std::uint16_t u16_at(std::span<const std::uint8_t> p, std::size_t at) {
  return static_cast<std::uint16_t>((p[at] << 8) | p[at + 1]);
}

std::int64_t signed_at(std::span<const std::uint8_t> p, std::size_t at, std::size_t size) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < size; ++i) v = (v << 8) | p[at + i];
  if (size == 1) return static_cast<std::int8_t>(v);
  if (size == 2) return static_cast<std::int16_t>(v);
  return static_cast<std::int32_t>(v);
}

// raw × scale, computed as a division for decimal scales so 4844 × 0.1 is exactly 484.4.
double scaled(std::int64_t raw, double scale) {
  if (scale < 1) return static_cast<double>(raw) / std::round(1 / scale);
  return static_cast<double>(raw) * scale;
}

std::string ascii_at(std::span<const std::uint8_t> p, std::size_t at, std::size_t size) {
  std::string s;
  for (std::size_t i = at; i < at + size && p[i] != 0; ++i) s.push_back(static_cast<char>(p[i]));
  const auto first = s.find_first_not_of(' ');
  if (first == std::string::npos) return {};
  return s.substr(first, s.find_last_not_of(' ') - first + 1);
}

bool printable(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7F; });
}

std::size_t field_bytes(const FieldDef& f) { return static_cast<std::size_t>(f.size) * f.count; }

void decode_field(const FieldDef& f, std::span<const std::uint8_t> p, Decoded& out) {
  const std::string& key = f.key;
  const std::string unit(f.unit);
  switch (f.type) {
    case FieldType::int_:
    case FieldType::long_:
      out.numbers.push_back({key, unit, scaled(signed_at(p, f.offset, f.size), f.scale)});
      return;
    case FieldType::uint16:
      out.numbers.push_back({key, unit, scaled(u16_at(p, f.offset), f.scale)});
      return;
    case FieldType::hex_flag: {
      const std::uint16_t w = u16_at(p, f.offset);
      if (w == flag_on || w == flag_off) {
        out.numbers.push_back({key, unit, w == flag_on ? 1.0 : 0.0});
      } else {
        out.notes.push_back(key + ": flag value " + std::to_string(w) + " is neither 0xEE00 nor 0x00EE");
      }
      return;
    }
    case FieldType::string:
      if (!f.secret && !f.key.empty()) out.texts.push_back({key, ascii_at(p, f.offset, f.size)});
      return;
    case FieldType::bit:
    case FieldType::bit_range: {
      const unsigned width = static_cast<unsigned>(f.bit_to) - static_cast<unsigned>(f.bit_from);
      const unsigned value = (static_cast<unsigned>(u16_at(p, f.offset)) >> f.bit_from) & ((1U << width) - 1U);
      out.numbers.push_back({key, unit, static_cast<double>(value)});
      return;
    }
    case FieldType::weekday: {
      const unsigned raw = (static_cast<unsigned>(u16_at(p, f.offset)) >> f.bit_from) & 3U;
      out.numbers.push_back({key, unit, raw == 3 ? 2.0 : raw == 1 ? 1.0 : 0.0});
      return;
    }
    case FieldType::one_position:
      if (f.size == 2) {
        out.numbers.push_back({key, unit, static_cast<double>(u16_at(p, f.offset))});
      } else {
        for (std::size_t w = 0; w < f.size / 2U; ++w) {
          out.numbers.push_back({key + "_" + std::to_string(w), unit, static_cast<double>(u16_at(p, f.offset + 2 * w))});
        }
      }
      return;
    case FieldType::preserve:
    case FieldType::repeat:
      return;
  }
}

std::optional<double> signed_by_status(std::optional<double> magnitude, std::optional<double> status) {
  if (!magnitude || !status) return std::nullopt;
  if (*status == status_discharging) return std::fabs(*magnitude);
  if (*status == status_charging) return -std::fabs(*magnitude);
  if (*status == status_standby) return 0.0;
  return std::nullopt;
}

}  // namespace

std::optional<double> Decoded::number(std::string_view key) const {
  const auto it = std::find_if(numbers.begin(), numbers.end(), [key](const Reading& n) { return n.name == key; });
  return it == numbers.end() ? std::nullopt : std::optional(it->value);
}

Decoded decode_payload(const Layout& layout, std::span<const std::uint8_t> payload) {
  Decoded out;
  bool short_payload = false;
  for (const auto& f : layout.fields) {
    if (f.offset + field_bytes(f) > payload.size()) {
      short_payload = true;
      continue;
    }
    decode_field(f, payload, out);
  }
  if (short_payload) {
    out.notes.push_back("payload of " + std::to_string(payload.size()) + " bytes is shorter than the layout's " +
                        std::to_string(layout.length) + "; fields beyond it were not decoded");
  }
  return out;
}

std::optional<Identity> read_identity(const Frame& frame) {
  if (!frame.is_answer() || frame.code() != 0x98) return std::nullopt;
  const auto p = frame.payload();
  if (p.size() < 32) return std::nullopt;
  Identity id{static_cast<int>(signed_at(p, 0, 2)), static_cast<int>(signed_at(p, 2, 2)),
              static_cast<int>(signed_at(p, 4, 2)), ascii_at(p, 6, 26)};
  if (!printable(id.serial)) return std::nullopt;
  return id;
}

std::string model_name(int model_code) {
  switch (model_code) {
    case 1: return "10 kW";
    case 2: return "5 kW";
    case 3: return "6 kW";
    case 5: return "3 kW";
    default: return "model " + std::to_string(model_code);
  }
}

std::vector<Reading> canonical_metrics(std::uint8_t code, const Decoded& v, std::optional<double> battery_status) {
  std::vector<Reading> out;
  auto put = [&out](const char* name, const char* unit, std::optional<double> value) {
    if (value) out.push_back({name, unit, *value, true});
  };
  if (code == 0x0A) {
    put("battery_soc", "%", v.number("bat_soc"));
    put("battery_voltage", "V", v.number("bat_voltage"));
    put("battery_temperature", "°C", v.number("bat_temperature"));
    put("battery_current", "A", signed_by_status(v.number("bat_current"), v.number("bat_status")));
  } else if (code == 0x0B) {
    const auto pv1 = v.number("cab_pv1_power");
    const auto pv2 = v.number("cab_pv2_power");
    put("pv_power", "W", pv1 && pv2 ? std::optional(*pv1 + *pv2) : std::nullopt);
    const auto grid = v.number("cab_grid_active_power");
    put("grid_power", "W", grid ? std::optional(-*grid) : std::nullopt);
    put("battery_power", "W", signed_by_status(v.number("cab_dc_power"), battery_status));
    put("grid_frequency", "Hz", v.number("cab_grid_frequency"));
    put("inverter_temperature", "°C", v.number("cab_internal_temperature"));
  } else if (code == 0x99) {
    put("pv_energy_today", "kWh", v.number("sum_pv_today"));
  }
  return out;
}

std::vector<std::uint8_t> redact_secrets(std::span<const std::uint8_t> raw, bool& redacted) {
  std::vector<std::uint8_t> out(raw.begin(), raw.end());
  redacted = false;
  if (out.size() < header_size || out[4] != 0xB1) return out;
  const std::size_t from = header_size + password_offset;
  const std::size_t to = std::min(out.size(), from + password_size);
  for (std::size_t i = from; i < to; ++i) out[i] = 0;
  redacted = from < to;
  return out;
}

}  // namespace sunkeep::sermatec
