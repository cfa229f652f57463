// A node-record-lpcm16 recorder for tests: "records" a raw 16 kHz mono file in real time (the ALSA
// file plugin delivers a file instantly, which would defeat any timing test), then room silence.
// The file is passed as the recorder's device.
module.exports = (options) => ({
  cmd: process.execPath,
  args: [
    '-e',
    `const fs = require('fs');
     const pcm = fs.readFileSync(${JSON.stringify(options.device)});
     const chunk = 640; // 20 ms
     let offset = 0;
     const started = Date.now();
     const tick = () => {
       const due = Math.floor(((Date.now() - started) / 20)) * chunk;
       while (offset < due) {
         const piece = offset < pcm.length ? pcm.subarray(offset, offset + chunk) : Buffer.alloc(chunk);
         process.stdout.write(piece);
         offset += chunk;
       }
     };
     setInterval(tick, 10);
     process.on('SIGTERM', () => process.exit(0));`,
  ],
});
