// A node-record-lpcm16 recorder that "records" a raw 16 kHz mono file in real time, for the tests and
// the soak run (the ALSA file plugin delivers a file instantly, which would defeat any timing). The
// daemon loads it when EMOBOT_RECORDER_MODULE names it; the file is EMOBOT_MIC_FILE. After the file:
// room silence, or with EMOBOT_MIC_LOOP=1 the file again, for a person who keeps talking to the robot.
module.exports = () => ({
  cmd: process.execPath,
  args: [
    '-e',
    `const fs = require('fs');
     const pcm = fs.readFileSync(process.env.EMOBOT_MIC_FILE);
     const loop = process.env.EMOBOT_MIC_LOOP === '1';
     const chunk = 640; // 20 ms
     let offset = 0;
     const started = Date.now();
     const tick = () => {
       const due = Math.floor(((Date.now() - started) / 20)) * chunk;
       while (offset < due) {
         const at = loop ? offset % pcm.length : offset;
         const piece = at + chunk <= pcm.length ? pcm.subarray(at, at + chunk) : Buffer.alloc(chunk);
         process.stdout.write(piece);
         offset += chunk;
       }
     };
     setInterval(tick, 10);
     process.on('SIGTERM', () => process.exit(0));`,
  ],
});
