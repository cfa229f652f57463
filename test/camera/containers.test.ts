import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { openVideoFile, PLAYABLE_CONTAINERS, sniff } from '../../src/camera/containers.js';
import { DEMO_VIDEO } from '../../src/runtime/paths.js';

const dir = mkdtempSync(path.join(tmpdir(), 'emobot-containers-'));
function file(name: string, content: Buffer | string): string {
  const target = path.join(dir, name);
  writeFileSync(target, content);
  return target;
}
/** The container the file is opened as, or the refusal's message. */
function videoContainer(target: string): string {
  try {
    const opened = openVideoFile(target);
    opened.close();
    return opened.container.name;
  } catch (err) {
    return (err as Error).message;
  }
}
const REFUSED = /^not a video file the robot plays \(MP4\/MOV, Matroska\/WebM, AVI, Ogg, MPEG-TS, MPEG program stream, H\.264 stream, H\.265 stream, Motion JPEG\)/;
const mpegTs = Buffer.alloc(188 * 3);
for (let packet = 0; packet < 3; packet++) mpegTs[packet * 188] = 0x47;

t.test('media containers are recognised by their first bytes, whatever the file is called', async (t) => {
  t.equal(videoContainer(DEMO_VIDEO), 'MP4/MOV');
  t.equal(videoContainer(file('old.mov', Buffer.concat([Buffer.from([0, 0, 0, 8]), Buffer.from('moov')]))), 'MP4/MOV');
  t.equal(videoContainer(file('a.mkv', Buffer.from([0x1a, 0x45, 0xdf, 0xa3, 0x9f]))), 'Matroska/WebM');
  t.equal(videoContainer(file('a.avi', Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4), Buffer.from('AVI LIST')]))), 'AVI');
  t.equal(videoContainer(file('a.ogv', 'OggS\0\x02')), 'Ogg');
  t.equal(videoContainer(file('a.m4v', Buffer.concat([Buffer.from([0, 0, 0, 0x20]), Buffer.from('ftypisom'), Buffer.alloc(24)]))), 'MP4/MOV');
  t.equal(videoContainer(file('a.ts', mpegTs)), 'MPEG-TS');
  t.equal(videoContainer(file('a.h264', Buffer.from([0, 0, 0, 1, 0x67]))), 'H.264 stream');
  t.equal(videoContainer(file('aud.h264', Buffer.from([0, 0, 1, 0x09, 0xf0]))), 'H.264 stream');
  t.equal(videoContainer(file('a.h265', Buffer.from([0, 0, 0, 1, 0x40, 0x01]))), 'H.265 stream');
  t.equal(videoContainer(file('a.mpg', Buffer.from([0, 0, 1, 0xba]))), 'MPEG program stream');
  t.equal(videoContainer(file('a.mjpeg', Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10]), Buffer.from('JFIF')]))), 'Motion JPEG');
  t.same(PLAYABLE_CONTAINERS.length, 9);
  const demo = openVideoFile(DEMO_VIDEO);
  t.teardown(() => demo.close());
  t.match(demo, { container: { ffmpegFormat: 'mov', gstreamerReaders: ['qtdemux'] }, path: /^\/proc\/self\/fd\/\d+$/ }, 'opened as its container, by its handle');
});

t.test('playlists and other descriptions that make a demuxer fetch URLs or read other files are refused', async (t) => {
  const playlists = {
    'hls.mp4': '#EXTM3U\n#EXTINF:2,\nhttp://169.254.169.254/latest/meta-data\n',
    'dash.mkv': '<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011"><BaseURL>http://10.0.0.1/</BaseURL></MPD>',
    'concat.avi': 'ffconcat version 1.0\nfile /etc/shadow\n',
    'session.mp4': 'v=0\no=- 0 0 IN IP4 10.0.0.1\nm=video 5004 RTP/AVP 96\n',
    'list.m3u': 'file:///etc/passwd\n',
  };
  for (const [name, content] of Object.entries(playlists)) {
    const target = file(name, content);
    t.match(videoContainer(target), REFUSED, name);
    t.notMatch(videoContainer(target), /EXTM3U|MPD|shadow|passwd|IN IP4/, `${name}: the message carries none of the file's content`);
  }
});

t.test('text made to look like a container at its first bytes is refused', async (t) => {
  // An SDP description whose bytes 4-8 read "free" (an MP4 box type), and text with "G" every 188 bytes.
  t.match(videoContainer(file('sdp.mp4', `v=0\nfree\nc=IN IP4 10.0.0.1\nm=video 5004 RTP/AVP 96\n`)), REFUSED);
  const lines = `G${'x'.repeat(187)}`.repeat(3);
  t.match(videoContainer(file('g.ts', lines)), REFUSED);
  // With a control byte: an MP4 box must fit in the file ("v=0\n" read as a size is about 2 GB).
  t.match(videoContainer(file('sdp1.mp4', `v=0\nfree\x01\nc=IN IP4 10.0.0.1\nm=video 5004 RTP/AVP 96\n`)), REFUSED);
  t.match(videoContainer(file('dash.mp4', '\x01\x01\x01\x01free<MPD xmlns="urn:mpeg:dash:schema:mpd:2011"></MPD>')), REFUSED);
  // A real container's first bytes with text after them pass the sniff: naming its demuxer is what stops them (camera.test.ts).
  t.match(sniff(Buffer.from('\x1a\x45\xdf\xa3\nc=IN IP4 10.0.0.1\nm=video 5004 RTP/AVP 96\n', 'latin1'), 48), { ffmpegFormat: 'matroska', gstreamerReaders: ['matroskademux'] });
});

t.test('what is not a regular file is refused without reading it: a FIFO (which would block), a folder, nothing', async (t) => {
  const fifo = path.join(dir, 'camera.mp4');
  execFileSync('mkfifo', [fifo]);
  t.equal(videoContainer(fifo), 'not a regular file');
  mkdirSync(path.join(dir, 'folder.mp4'));
  t.equal(videoContainer(path.join(dir, 'folder.mp4')), 'not a regular file');
  t.equal(videoContainer(path.join(dir, 'none.mp4')), 'no such file');
});

t.test('a short or empty file is no container, and an MPEG-TS needs three packets in step', async (t) => {
  t.match(videoContainer(file('empty.mp4', '')), REFUSED);
  t.match(videoContainer(file('short.mp4', Buffer.from([0, 0, 0]))), REFUSED);
  t.match(videoContainer(file('one-packet.ts', Buffer.concat([Buffer.from([0x47]), Buffer.alloc(200)]))), REFUSED);
});
