/*
 * Runs AVR firmware in simavr with its UART on a pseudo-terminal, so the host talks to it as to a
 * board on a serial port, and reports what Arduino pins 2-13 put out, each time it changes:
 *   ready <pty path>
 *   pulse <pin> <microseconds>   servo pulses (repeating slower than every 5 ms)
 *   pwm <pin> <0-255>            PWM duty (repeating faster)
 *   level <pin> <0|1>            a steady level (no edge for 50 ms)
 * Usage: simavr-bridge <firmware.elf|.hex> [mcu] [frequency]
 * Used by the hardware-in-the-loop test (test/firmware/firmware.test.ts).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim_avr.h"
#include "sim_elf.h"
#include "sim_hex.h"
#include "sim_cycle_timers.h"
#include "avr_ioport.h"
#include "parts/uart_pty.h"

static avr_t *avr;
static uart_pty_t uart;

typedef struct {
  int arduino_pin;
  int level;
  avr_cycle_count_t rose_at, previous_rise, last_edge;
  int reported_pulse_us, reported_duty, reported_level;
} watched_pin_t;

/* Arduino pins 2-13: PD2-PD7, PB0-PB5. */
static watched_pin_t pins[12];

static uint64_t us_of(avr_cycle_count_t cycles) { return cycles * 1000000ULL / avr->frequency; }

static void on_pin_change(struct avr_irq_t *irq, uint32_t value, void *param) {
  (void)irq;
  watched_pin_t *pin = param;
  if ((int)value == pin->level) return;
  pin->level = (int)value;
  pin->last_edge = avr->cycle;
  if (value) {
    pin->previous_rise = pin->rose_at;
    pin->rose_at = avr->cycle;
    return;
  }
  if (!pin->rose_at || !pin->previous_rise) return;
  uint64_t high_us = us_of(avr->cycle - pin->rose_at);
  uint64_t period_us = us_of(pin->rose_at - pin->previous_rise);
  pin->reported_level = -1;
  if (period_us > 5000) {
    int us = (int)high_us;
    if (abs(us - pin->reported_pulse_us) < 2) return;
    pin->reported_pulse_us = us;
    printf("pulse %d %d\n", pin->arduino_pin, us);
  } else if (period_us > 0) {
    int duty = (int)((high_us * 255 + period_us / 2) / period_us);
    if (abs(duty - pin->reported_duty) < 2) return;
    pin->reported_duty = duty;
    printf("pwm %d %d\n", pin->arduino_pin, duty);
  }
  fflush(stdout);
}

/* Every 50 ms of simulated time: pins without an edge in that time (servo frames are 20 ms) are steady. */
static avr_cycle_count_t check_levels(struct avr_t *a, avr_cycle_count_t when, void *param) {
  (void)param;
  avr_cycle_count_t window = a->frequency / 20;
  for (int i = 0; i < 12; i++) {
    watched_pin_t *pin = &pins[i];
    if (when - pin->last_edge < window || pin->level == pin->reported_level) continue;
    pin->reported_level = pin->level;
    pin->reported_pulse_us = pin->reported_duty = -100;
    pin->rose_at = pin->previous_rise = 0;
    printf("level %d %d\n", pin->arduino_pin, pin->level);
    fflush(stdout);
  }
  return when + window;
}

/* Nothing to flush or save: a simulator can just go (uart_pty's thread would block a clean stop). */
static void on_signal(int sig) {
  (void)sig;
  _exit(0);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s firmware.elf|firmware.hex [mcu] [frequency]\n", argv[0]);
    return 2;
  }
  const char *mcu = argc > 2 ? argv[2] : "atmega328p";
  uint32_t frequency = argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 10) : 16000000;
  elf_firmware_t firmware;
  memset(&firmware, 0, sizeof firmware);
  const char *path = argv[1];
  size_t len = strlen(path);
  if (len > 4 && strcmp(path + len - 4, ".hex") == 0) {
    uint32_t size, start;
    uint8_t *code = read_ihex_file(path, &size, &start);
    if (!code) {
      fprintf(stderr, "%s: cannot read\n", path);
      return 1;
    }
    firmware.flash = code;
    firmware.flashsize = size;
    firmware.flashbase = start;
  } else if (elf_read_firmware(path, &firmware) != 0) {
    fprintf(stderr, "%s: cannot read\n", path);
    return 1;
  }
  strncpy(firmware.mmcu, mcu, sizeof firmware.mmcu - 1);
  firmware.frequency = frequency;
  avr = avr_make_mcu_by_name(mcu);
  if (!avr) {
    fprintf(stderr, "unknown mcu %s\n", mcu);
    return 1;
  }
  avr_init(avr);
  avr_load_firmware(avr, &firmware);

  uart_pty_init(avr, &uart);
  uart_pty_connect(&uart, '0');

  for (int i = 0; i < 12; i++) {
    int arduino_pin = i + 2;
    pins[i].reported_pulse_us = pins[i].reported_duty = -100;
    pins[i].reported_level = -1;
    char port = arduino_pin < 8 ? 'D' : 'B';
    int bit = arduino_pin < 8 ? arduino_pin : arduino_pin - 8;
    pins[i].arduino_pin = arduino_pin;
    avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_IOPORT_GETIRQ(port), bit), on_pin_change, &pins[i]);
  }

  avr_cycle_timer_register(avr, avr->frequency / 20, check_levels, NULL);
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  printf("ready %s\n", uart.pty.slavename);
  fflush(stdout);
  for (;;) {
    int state = avr_run(avr);
    if (state == cpu_Done || state == cpu_Crashed) {
      fprintf(stderr, "simulated cpu stopped (state %d)\n", state);
      break;
    }
  }
  return 1;
}
