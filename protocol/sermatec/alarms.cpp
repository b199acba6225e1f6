// Sermatec fault and BMS alarm events.
#include "protocol/sermatec/alarms.hpp"

#include <cmath>

namespace sunkeep::sermatec {

namespace {

constexpr const char* inferred = " (bit-to-code mapping inferred)";

// The first code of the 96-code block of each battery brand whose block the spec names.
int bms_block_base(int battery_brand) {
  switch (battery_brand) {
    case 2: return 81;    // Pylontech high-voltage
    case 3: return 177;   // Pylontech low-voltage
    case 23: return 561;  // BYD low-voltage
    case 22: return 657;  // BYD high-voltage
    default: return 0;
  }
}

const std::map<int, const char*>& fault_texts() {
  static const std::map<int, const char*> texts{
      {1, "output overload"}, {2, "output leakage current"}, {3, "AC output short circuit"},
      {5, "grid phase-lock failure"}, {6, "grid phase sequence wrong"}, {7, "grid voltage high"},
      {8, "grid voltage low"}, {9, "grid frequency high"}, {10, "grid frequency low"},
      {15, "inverter soft-start failure"}, {18, "DC bus imbalance"}, {19, "primary bus overvoltage"},
      {20, "primary bus undervoltage"}, {21, "battery-side bus hardware soft-start failure"},
      {22, "battery-side bus software soft-start failure"}, {23, "secondary bus low"}, {24, "secondary bus high"},
      {25, "PV1 reversed"}, {26, "PV2 reversed"}, {27, "PV1 overvoltage"}, {28, "PV1 undervoltage"},
      {29, "PV2 overvoltage"}, {30, "PV2 undervoltage"}, {33, "battery undervoltage (end of discharge)"},
      {34, "battery overvoltage"}, {36, "grid and load terminals swapped"}, {37, "battery current out of range"},
      {41, "parallel cable fault"}, {42, "parallel address out of range"}, {43, "two parallel masters"},
      {46, "SOC below limit, discharge stopped"}, {47, "meter fault"}, {48, "PV too weak for the load"},
      {49, "relay self-test failure"}, {50, "PV bus hardware soft-start failure"},
      {52, "PV bus software soft-start failure"}, {53, "secondary bus hardware soft-start failure"},
      {54, "secondary bus software soft-start failure"}, {63, "positive bus insulation resistance low"},
      {64, "negative bus insulation resistance low"}, {65, "internal temperature high"},
      {66, "internal temperature low"}, {67, "IGBT A over-temperature"}, {68, "IGBT B over-temperature"},
      {69, "IGBT C over-temperature"}, {70, "IGBT A temperature sensor fault"},
      {71, "IGBT B temperature sensor fault"}, {72, "IGBT C temperature sensor fault"},
      {75, "on-grid/off-grid switching"}, {76, "model mismatch"}};
  return texts;
}

// The words of an answer, by key, in bit order: the fault words of 0x1F or the six BMS words of 0x1E.
std::vector<std::pair<std::string, std::uint16_t>> alarm_words(std::uint8_t code, const Decoded& values) {
  const std::string prefix = code == 0x1F ? "fault_word_" : "bms_alarm_word_";
  std::vector<std::pair<std::string, std::uint16_t>> words;
  for (int w = 0; w < (code == 0x1F ? 5 : 6); ++w) {
    const std::string key = prefix + std::to_string(w);
    if (const auto v = values.number(key)) words.emplace_back(key, static_cast<std::uint16_t>(std::lround(*v)));
  }
  return words;
}

}  // namespace

std::string fault_text(int code) {
  const auto it = fault_texts().find(code);
  return it == fault_texts().end() ? std::string{} : it->second;
}

std::vector<AlarmEvent> raised_alarms(std::uint8_t code, const Decoded& values, int battery_brand,
                                      std::map<std::string, std::uint16_t>& previous) {
  std::vector<AlarmEvent> events;
  if (code != 0x1F && code != 0x1E) return events;
  const auto words = alarm_words(code, values);
  for (std::size_t w = 0; w < words.size(); ++w) {
    const auto& [key, now] = words[w];
    const std::uint16_t before = previous.count(key) ? previous[key] : 0;
    const auto raised = static_cast<std::uint16_t>(now & ~before);
    previous[key] = now;
    for (int bit = 0; bit < 16; ++bit) {
      if ((raised & (1U << bit)) == 0) continue;
      const int index = static_cast<int>(w) * 16 + bit;
      if (code == 0x1F) {
        const int fault = index + 1;
        const std::string text = fault_text(fault);
        events.push_back({"sermatec_fault", std::to_string(fault), (text.empty() ? "system fault " + std::to_string(fault) : text) + inferred});
      } else {
        const int base = bms_block_base(battery_brand);
        events.push_back({"sermatec_bms", base ? std::to_string(base + index) : "bms_bit_" + std::to_string(index),
                          "BMS warning bit " + std::to_string(index) + inferred});
      }
    }
  }
  return events;
}

}  // namespace sunkeep::sermatec
