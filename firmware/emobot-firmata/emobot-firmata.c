/*
 * EmoBot expression board firmware for the ATmega328P (Arduino Uno / Nano, 16 MHz).
 *
 * Speaks the subset of the Firmata 2.5 protocol that johnny-five uses to drive servos and LEDs:
 * version and firmware reports, capability / analog-mapping / pin-state queries, pin modes, digital
 * writes, PWM (analog) writes, servo configuration and writes, system reset. Inputs are not reported:
 * the robot's sensing happens on the host (camera, microphone).
 *
 * Written against avr-libc only, so Debian's gcc-avr builds it without an Arduino core, and it runs
 * unchanged in the simavr simulator for the hardware-in-the-loop test.
 *
 * Servos: pulses generated in software from Timer1 (0.5 us resolution), one after another in a 20 ms
 * frame, on any digital pin; Timer1's own PWM pins (9, 10) therefore have no hardware PWM, as with
 * Arduino's Servo library. PWM: pins 5, 6 (Timer0) and 3, 11 (Timer2), ~977 Hz.
 * Safety: until the host gives a servo a position its pin stays low (no pulse: the servo does not
 * move), and a system reset stops every servo pulse. Limits are enforced on the host (SafeServos);
 * this firmware only clamps pulses to the range the host configured.
 */
#include <avr/interrupt.h>
#include <avr/io.h>
#include <avr/wdt.h>
#include <stdint.h>

#define FIRMATA_MAJOR 2
#define FIRMATA_MINOR 5
#define FIRMWARE_MAJOR 1
#define FIRMWARE_MINOR 0
static const char FIRMWARE_NAME[] = "emobot-firmata";

/* Firmata commands */
#define DIGITAL_MESSAGE 0x90
#define ANALOG_MESSAGE 0xE0
#define REPORT_ANALOG 0xC0
#define REPORT_DIGITAL 0xD0
#define SET_PIN_MODE 0xF4
#define SET_DIGITAL_PIN_VALUE 0xF5
#define REPORT_VERSION 0xF9
#define SYSTEM_RESET 0xFF
#define START_SYSEX 0xF0
#define END_SYSEX 0xF7
/* sysex */
#define EXTENDED_ANALOG 0x6F
#define CAPABILITY_QUERY 0x6B
#define CAPABILITY_RESPONSE 0x6C
#define PIN_STATE_QUERY 0x6D
#define PIN_STATE_RESPONSE 0x6E
#define ANALOG_MAPPING_QUERY 0x69
#define ANALOG_MAPPING_RESPONSE 0x6A
#define SERVO_CONFIG 0x70
#define REPORT_FIRMWARE 0x79
#define SAMPLING_INTERVAL 0x7A
/* pin modes */
#define MODE_INPUT 0x00
#define MODE_OUTPUT 0x01
#define MODE_ANALOG 0x02
#define MODE_PWM 0x03
#define MODE_SERVO 0x04
#define MODE_PULLUP 0x0B

#define PIN_COUNT 20 /* D0-D13, A0-A5 as D14-D19 */
#define FIRST_USABLE_PIN 2 /* D0/D1 are the serial port */
#define MAX_SERVOS 12
#define SERVO_FRAME_TICKS 40000u /* 20 ms in 0.5 us ticks */

/* ---------- pins ---------- */

static volatile uint8_t *port_of(uint8_t pin) { return pin < 8 ? &PORTD : pin < 14 ? &PORTB : &PORTC; }
static volatile uint8_t *ddr_of(uint8_t pin) { return pin < 8 ? &DDRD : pin < 14 ? &DDRB : &DDRC; }
static volatile uint8_t *pinreg_of(uint8_t pin) { return pin < 8 ? &PIND : pin < 14 ? &PINB : &PINC; }
static uint8_t bit_of(uint8_t pin) { return (uint8_t)(1u << (pin < 8 ? pin : pin < 14 ? pin - 8 : pin - 14)); }

static void pin_write(uint8_t pin, uint8_t high) {
  uint8_t sreg = SREG;
  cli(); /* the servo interrupt writes the same port registers */
  if (high) *port_of(pin) |= bit_of(pin);
  else *port_of(pin) &= (uint8_t)~bit_of(pin);
  SREG = sreg;
}

static void pin_direction(uint8_t pin, uint8_t output) {
  uint8_t sreg = SREG;
  cli();
  if (output) *ddr_of(pin) |= bit_of(pin);
  else *ddr_of(pin) &= (uint8_t)~bit_of(pin);
  SREG = sreg;
}

static uint8_t is_pwm_pin(uint8_t pin) { return pin == 3 || pin == 5 || pin == 6 || pin == 11; }

static uint8_t pin_mode[PIN_COUNT];
static uint16_t pin_state[PIN_COUNT]; /* last value written: level, duty or servo value */

/* ---------- PWM ---------- */

static void pwm_connect(uint8_t pin, uint8_t on) {
  switch (pin) {
    case 6: if (on) TCCR0A |= _BV(COM0A1); else TCCR0A &= (uint8_t)~_BV(COM0A1); break;
    case 5: if (on) TCCR0A |= _BV(COM0B1); else TCCR0A &= (uint8_t)~_BV(COM0B1); break;
    case 11: if (on) TCCR2A |= _BV(COM2A1); else TCCR2A &= (uint8_t)~_BV(COM2A1); break;
    case 3: if (on) TCCR2A |= _BV(COM2B1); else TCCR2A &= (uint8_t)~_BV(COM2B1); break;
  }
}

static void pwm_write(uint8_t pin, uint16_t value) {
  if (value > 255) value = 255;
  pin_state[pin] = value;
  /* 0 and 255 as plain levels: fast PWM would still emit a one-tick glitch at 0. */
  if (value == 0 || value == 255) {
    pwm_connect(pin, 0);
    pin_write(pin, value == 255);
    return;
  }
  switch (pin) {
    case 6: OCR0A = (uint8_t)value; break;
    case 5: OCR0B = (uint8_t)value; break;
    case 11: OCR2A = (uint8_t)value; break;
    case 3: OCR2B = (uint8_t)value; break;
  }
  pwm_connect(pin, 1);
}

/* ---------- servos ---------- */

typedef struct {
  volatile uint8_t pin;
  uint16_t min_us, max_us;
  volatile uint16_t ticks; /* pulse width in 0.5 us ticks; 0 = no pulse */
  volatile uint8_t pulsing; /* the ISR raised this pin in the current slot */
} servo_t;

static servo_t servos[MAX_SERVOS];
static volatile uint8_t servo_count;
static volatile int8_t servo_current = -1;

static int8_t servo_index(uint8_t pin) {
  for (uint8_t i = 0; i < servo_count; i++) if (servos[i].pin == pin) return (int8_t)i;
  return -1;
}

static int8_t servo_attach(uint8_t pin, uint16_t min_us, uint16_t max_us) {
  int8_t i = servo_index(pin);
  if (i < 0) {
    if (servo_count >= MAX_SERVOS) return -1;
    i = (int8_t)servo_count;
    uint8_t sreg = SREG;
    cli(); /* the ISR must never see the new count before the slot is filled */
    servos[i].pin = pin;
    servos[i].ticks = 0;
    servos[i].pulsing = 0;
    servo_count++;
    SREG = sreg;
  }
  servos[i].min_us = min_us;
  servos[i].max_us = max_us;
  pin_write(pin, 0);
  pin_direction(pin, 1);
  return i;
}

/* Values under 544 are degrees (mapped onto min..max us), larger ones microseconds, as in Firmata. */
static void servo_write(uint8_t pin, uint16_t value) {
  int8_t i = servo_index(pin);
  if (i < 0) i = servo_attach(pin, 544, 2400);
  if (i < 0) return;
  servo_t *s = &servos[i];
  uint16_t us;
  if (value < 544) {
    if (value > 180) value = 180;
    us = (uint16_t)(s->min_us + (uint32_t)(s->max_us - s->min_us) * value / 180);
  } else {
    us = value;
  }
  if (us < s->min_us) us = s->min_us;
  if (us > s->max_us) us = s->max_us;
  pin_state[pin] = value;
  uint8_t sreg = SREG;
  cli();
  s->ticks = (uint16_t)(us * 2);
  SREG = sreg;
}

static void servo_detach_all(void) {
  uint8_t sreg = SREG;
  cli();
  for (uint8_t i = 0; i < servo_count; i++) {
    servos[i].ticks = 0;
    *port_of(servos[i].pin) &= (uint8_t)~bit_of(servos[i].pin);
  }
  servo_count = 0;
  SREG = sreg;
}

/*
 * One pulse after another: each compare match ends the current pulse and starts the next; after the
 * last one the timer runs on to the end of the 20 ms frame. Servos without a position stay low.
 */
ISR(TIMER1_COMPA_vect) {
  if (servo_current < 0) {
    TCNT1 = 0;
  } else if (servo_current < (int8_t)servo_count) {
    servo_t *s = &servos[servo_current];
    /* Only a pulse this ISR started is ended: a pin switched to another mode is left alone. */
    if (s->pulsing) *port_of(s->pin) &= (uint8_t)~bit_of(s->pin);
    s->pulsing = 0;
  }
  servo_current++;
  if (servo_current < (int8_t)servo_count) {
    servo_t *s = &servos[servo_current];
    uint16_t ticks = s->ticks ? s->ticks : 1000; /* an unset servo takes 0.5 ms of the frame, low */
    if (s->ticks) {
      *port_of(s->pin) |= bit_of(s->pin);
      s->pulsing = 1;
    }
    OCR1A = TCNT1 + ticks;
  } else {
    uint16_t soon = TCNT1 + 8;
    OCR1A = soon < SERVO_FRAME_TICKS ? SERVO_FRAME_TICKS : soon;
    servo_current = -1;
  }
}

/* ---------- serial ---------- */

#define RX_SIZE 128
static volatile uint8_t rx_buf[RX_SIZE];
static volatile uint8_t rx_head, rx_tail;

ISR(USART_RX_vect) {
  uint8_t byte = UDR0;
  uint8_t next = (uint8_t)((rx_head + 1) % RX_SIZE);
  if (next != rx_tail) {
    rx_buf[rx_head] = byte;
    rx_head = next;
  }
}

static int16_t rx_read(void) {
  if (rx_head == rx_tail) return -1;
  uint8_t byte = rx_buf[rx_tail];
  rx_tail = (uint8_t)((rx_tail + 1) % RX_SIZE);
  return byte;
}

static void tx(uint8_t byte) {
  while (!(UCSR0A & _BV(UDRE0))) {}
  UDR0 = byte;
}

static void tx7(uint16_t value) { /* a 14-bit value as two 7-bit bytes, LSB first */
  tx(value & 0x7F);
  tx((value >> 7) & 0x7F);
}

static void report_version(void) {
  tx(REPORT_VERSION);
  tx(FIRMATA_MAJOR);
  tx(FIRMATA_MINOR);
}

static void report_firmware(void) {
  tx(START_SYSEX);
  tx(REPORT_FIRMWARE);
  tx(FIRMWARE_MAJOR);
  tx(FIRMWARE_MINOR);
  for (const char *c = FIRMWARE_NAME; *c; c++) tx7((uint8_t)*c);
  tx(END_SYSEX);
}

static void report_capabilities(void) {
  tx(START_SYSEX);
  tx(CAPABILITY_RESPONSE);
  for (uint8_t pin = 0; pin < PIN_COUNT; pin++) {
    if (pin >= FIRST_USABLE_PIN) {
      tx(MODE_INPUT); tx(1);
      tx(MODE_PULLUP); tx(1);
      tx(MODE_OUTPUT); tx(1);
      if (is_pwm_pin(pin)) { tx(MODE_PWM); tx(8); }
      tx(MODE_SERVO); tx(14);
    }
    tx(0x7F);
  }
  tx(END_SYSEX);
}

static void report_analog_mapping(void) {
  tx(START_SYSEX);
  tx(ANALOG_MAPPING_RESPONSE);
  for (uint8_t pin = 0; pin < PIN_COUNT; pin++) tx(pin >= 14 ? pin - 14 : 0x7F);
  tx(END_SYSEX);
}

static void report_pin_state(uint8_t pin) {
  tx(START_SYSEX);
  tx(PIN_STATE_RESPONSE);
  tx(pin);
  if (pin < PIN_COUNT) {
    uint16_t state = pin_state[pin];
    if (pin_mode[pin] == MODE_INPUT || pin_mode[pin] == MODE_PULLUP) state = (*pinreg_of(pin) & bit_of(pin)) ? 1 : 0;
    tx(pin_mode[pin]);
    tx(state & 0x7F);
    if (state > 0x7F) tx((state >> 7) & 0x7F);
  }
  tx(END_SYSEX);
}

/* ---------- commands ---------- */

static void set_pin_mode(uint8_t pin, uint8_t mode) {
  if (pin < FIRST_USABLE_PIN || pin >= PIN_COUNT) return;
  if (pin_mode[pin] == MODE_PWM && mode != MODE_PWM) pwm_connect(pin, 0);
  if (pin_mode[pin] == MODE_SERVO && mode != MODE_SERVO) {
    int8_t i = servo_index(pin);
    if (i >= 0) { /* stays in the frame, silent */
      uint8_t sreg = SREG;
      cli(); /* a 16-bit write the ISR must not see half done */
      servos[i].ticks = 0;
      SREG = sreg;
    }
  }
  switch (mode) {
    case MODE_INPUT: pin_direction(pin, 0); pin_write(pin, 0); break;
    case MODE_PULLUP: pin_direction(pin, 0); pin_write(pin, 1); break;
    case MODE_OUTPUT: pin_write(pin, 0); pin_direction(pin, 1); break;
    case MODE_PWM:
      if (!is_pwm_pin(pin)) return;
      pin_write(pin, 0);
      pin_direction(pin, 1);
      break;
    case MODE_SERVO:
      if (servo_index(pin) < 0 && servo_attach(pin, 544, 2400) < 0) return;
      break;
    default: return;
  }
  pin_mode[pin] = mode;
  pin_state[pin] = 0;
}

static void analog_write(uint8_t pin, uint16_t value) {
  if (pin >= PIN_COUNT) return;
  if (pin_mode[pin] == MODE_SERVO) servo_write(pin, value);
  else if (pin_mode[pin] == MODE_PWM) pwm_write(pin, value);
}

static void digital_write(uint8_t pin, uint8_t value) {
  if (pin < FIRST_USABLE_PIN || pin >= PIN_COUNT || pin_mode[pin] != MODE_OUTPUT) return;
  pin_write(pin, value);
  pin_state[pin] = value;
}

static void system_reset(void) {
  servo_detach_all();
  for (uint8_t pin = FIRST_USABLE_PIN; pin < PIN_COUNT; pin++) {
    if (is_pwm_pin(pin)) pwm_connect(pin, 0);
    pin_direction(pin, 0);
    pin_write(pin, 0);
    pin_mode[pin] = MODE_OUTPUT; /* what StandardFirmata reports after reset, though still floating */
    pin_state[pin] = 0;
  }
}

static uint8_t sysex[64];
static uint8_t sysex_len;

static void handle_sysex(void) {
  if (sysex_len == 0) return;
  uint8_t *d = sysex + 1;
  uint8_t n = (uint8_t)(sysex_len - 1);
  switch (sysex[0]) {
    case REPORT_FIRMWARE: report_firmware(); break;
    case CAPABILITY_QUERY: report_capabilities(); break;
    case ANALOG_MAPPING_QUERY: report_analog_mapping(); break;
    case PIN_STATE_QUERY: if (n >= 1) report_pin_state(d[0]); break;
    case SERVO_CONFIG:
      if (n >= 5 && d[0] >= FIRST_USABLE_PIN && d[0] < PIN_COUNT) {
        uint16_t min_us = (uint16_t)(d[1] | (d[2] << 7));
        uint16_t max_us = (uint16_t)(d[3] | (d[4] << 7));
        if (min_us < max_us && servo_attach(d[0], min_us, max_us) >= 0) {
          pin_mode[d[0]] = MODE_SERVO;
          pin_state[d[0]] = 0;
        }
      }
      break;
    case EXTENDED_ANALOG:
      if (n >= 2) {
        uint16_t value = 0;
        for (uint8_t i = 1; i < n && i < 4; i++) value |= (uint16_t)d[i] << (7 * (i - 1));
        analog_write(d[0], value);
      }
      break;
    case SAMPLING_INTERVAL: break; /* nothing is sampled */
    default: break;
  }
}

/* Firmata message parser: data bytes (< 0x80) complete the command in progress. */
static uint8_t command, need, got, data[2];
static uint8_t in_sysex;

static void handle_byte(uint8_t byte) {
  if (in_sysex) {
    if (byte == END_SYSEX) {
      in_sysex = 0;
      handle_sysex();
      return;
    }
    if (byte < 0x80) {
      if (sysex_len < sizeof sysex) sysex[sysex_len++] = byte;
      return;
    }
    /* A command byte inside a sysex means its END was lost: drop the sysex, obey the command. */
    in_sysex = 0;
  }
  if (byte & 0x80) {
    uint8_t type = byte < 0xF0 ? (byte & 0xF0) : byte;
    command = byte;
    got = 0;
    need = 0;
    switch (type) {
      case DIGITAL_MESSAGE: case ANALOG_MESSAGE: case SET_PIN_MODE: case SET_DIGITAL_PIN_VALUE: need = 2; break;
      case REPORT_ANALOG: case REPORT_DIGITAL: need = 1; break;
      case START_SYSEX: in_sysex = 1; sysex_len = 0; break;
      case REPORT_VERSION: report_version(); break;
      case SYSTEM_RESET: system_reset(); break;
      default: break;
    }
    return;
  }
  if (got >= need) return; /* stray data byte */
  data[got++] = byte;
  if (got < need) return;
  uint8_t type = command < 0xF0 ? (command & 0xF0) : command;
  uint8_t channel = command & 0x0F;
  switch (type) {
    case ANALOG_MESSAGE:
      analog_write(channel, (uint16_t)(data[0] | (data[1] << 7)));
      break;
    case DIGITAL_MESSAGE: {
      uint8_t bits = (uint8_t)(data[0] | (data[1] << 7));
      for (uint8_t i = 0; i < 8; i++) {
        uint8_t pin = (uint8_t)(channel * 8 + i);
        if (pin < PIN_COUNT && pin_mode[pin] == MODE_OUTPUT) digital_write(pin, (bits >> i) & 1);
      }
      break;
    }
    case SET_PIN_MODE: set_pin_mode(data[0], data[1]); break;
    case SET_DIGITAL_PIN_VALUE: digital_write(data[0], data[1]); break;
    default: break; /* REPORT_ANALOG / REPORT_DIGITAL: inputs are not reported */
  }
  /* Running status (the next data bytes reuse the command) exists for channel messages only. */
  got = 0;
  if (command >= 0xF0) need = 0;
}

/* ---------- main ---------- */

static void hardware_init(void) {
  /* UART 57600 8N1, double speed (0.8% error at 16 MHz) */
  UCSR0A = _BV(U2X0);
  UBRR0 = 34;
  UCSR0B = _BV(RXEN0) | _BV(TXEN0) | _BV(RXCIE0);
  UCSR0C = _BV(UCSZ01) | _BV(UCSZ00);
  /* Timer0 and Timer2: fast PWM, clock/64 (~977 Hz); outputs connected per pin on demand */
  TCCR0A = _BV(WGM01) | _BV(WGM00);
  TCCR0B = _BV(CS01) | _BV(CS00);
  TCCR2A = _BV(WGM21) | _BV(WGM20);
  TCCR2B = _BV(CS22);
  /* Timer1: normal mode, clock/8 = 0.5 us ticks, for the servo pulse train */
  TCCR1A = 0;
  TCCR1B = _BV(CS11);
  OCR1A = SERVO_FRAME_TICKS;
  TIMSK1 = _BV(OCIE1A);
}

int main(void) {
  MCUSR = 0;
  wdt_disable();
  for (uint8_t pin = 0; pin < PIN_COUNT; pin++) pin_mode[pin] = MODE_OUTPUT;
  hardware_init();
  sei();
  report_version();
  report_firmware();
  for (;;) {
    int16_t byte;
    while ((byte = rx_read()) >= 0) handle_byte((uint8_t)byte);
  }
}
