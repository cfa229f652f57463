import t from 'tap';
import { checkGstreamerPipeline, withLocation } from '../../src/camera/gstreamer.js';

t.test('camera pipelines people use are allowed; the filesrc location is handed back for the folder check', async (t) => {
  for (const pipeline of [
    'libcamerasrc ! video/x-raw,width=640,height=480,framerate=30/1 ! videoconvert ! appsink',
    'nvarguscamerasrc sensor-id=0 ! video/x-raw(memory:NVMM), width=1280, height=720, format=NV12, framerate=30/1 ! nvvidconv ! video/x-raw, format=BGRx ! videoconvert ! video/x-raw, format=BGR ! appsink drop=true',
    'v4l2src device=/dev/video0 ! image/jpeg,width=1280,height=720 ! jpegdec ! videoconvert ! appsink',
    'videotestsrc pattern=ball ! videoconvert ! appsink',
    'v4l2src device=/dev/v4l/by-id/usb-046d_C920-video-index0 ! videoconvert ! appsink',
    // Jetson's hardware decoder names its own node, not a camera's
    'v4l2src device=/dev/video0 ! image/jpeg ! nvv4l2decoder device=/dev/v4l2-nvdec mjpeg=1 ! nvvidconv ! videoconvert ! appsink',
  ]) {
    t.same(checkGstreamerPipeline(pipeline), {}, pipeline);
  }
  t.same(checkGstreamerPipeline('filesrc location=/opt/emobot/assets/demo.mp4 ! qtdemux ! h264parse ! nvv4l2decoder device=/dev/nvhost-nvdec ! nvvidconv ! appsink'), { file: { path: '/opt/emobot/assets/demo.mp4', offset: 17 }, fileReader: 'qtdemux' });
  // Allowed here; opening checks the reader against the file's container (sources.ts), and decodebin is none.
  t.same(checkGstreamerPipeline('filesrc location=/opt/emobot/assets/demo.mp4 ! decodebin ! videoconvert ! appsink'), { file: { path: '/opt/emobot/assets/demo.mp4', offset: 17 }, fileReader: 'decodebin' });
});

t.test('a pipeline that could send, store or run anything is refused with the reason', async (t) => {
  const refused: [string, RegExp][] = [
    ['v4l2src ! tee name=t ! queue ! appsink t. ! queue ! tcpclientsink host=10.0.0.9 port=5000', /element "tee" is not allowed/],
    ['v4l2src ! videoconvert ! appsink ! filesink location=/tmp/x', /appsink must be the last element/],
    ['v4l2src ! videoconvert ! filesink location=/tmp/x', /must end in appsink/],
    ['souphttpsrc location=http://evil/ ! decodebin ! appsink', /first element must be a camera source/],
    ['v4l2src device="/dev/video0" ! appsink', /property "device="\/dev\/video0"" of v4l2src/],
    ['v4l2src ! video/x-raw;rm -rf / ! appsink', /caps/],
    ['v4l2src !  ! appsink', /empty element/],
    ['appsink', /needs a source and appsink/],
    ['v4l2src ! video/x-raw', /must end in appsink/],
    ['filesrc location=videos/a.mp4 ! decodebin ! appsink', /absolute path/],
    ['v4l2src device=/dev/sda ! appsink', /v4l2src device must be/],
    ['nvv4l2camerasrc device=/dev/sda ! appsink', /nvv4l2camerasrc device must be/],
    ['v4l2src ! v4l2convert device=/dev/mem ! appsink', /v4l2convert device must be/],
    ['v4l2src device-fd=0 ! appsink', /device-fd is not allowed/],
    ['v4l2src device=/dev/nvhost-nvdec ! appsink', /v4l2src device must be/],
    ['v4l2src ! nvv4l2decoder device=/dev/nvhost-ctrl ! appsink', /nvv4l2decoder device must be .*nvhost-nvdec/],
    // GStreamer takes the last of two, and only one would be checked (a FIFO there hangs the robot).
    ['filesrc location=/opt/emobot/assets/demo.mp4 location=/tmp/camera.fifo ! qtdemux ! avdec_h264 ! videoconvert ! appsink', /^filesrc sets location twice$/],
    ['v4l2src device=/dev/video0 device=/dev/sda ! appsink', /^v4l2src sets device twice$/],
    ['v4l2src ! videoconvert ! appsink drop=true drop=false', /^appsink sets drop twice$/],
    // A refusal quotes parts cut short, which could keep a password and cut off its `@`.
    [`rtsp://admin:${'pw'.repeat(40)}@camera.lan/stream ! appsink`, /^no "@"/],
    ['v4l2src ! video/x-raw,width=640@x ! appsink', /^no "@"/],
  ];
  for (const [pipeline, reason] of refused) t.match(checkGstreamerPipeline(pipeline), { problem: reason }, pipeline);
  t.notMatch(checkGstreamerPipeline(`rtsp://admin:${'pw'.repeat(40)}@camera.lan/stream ! appsink`).problem, /admin|pwpw/, 'no part of the URL is quoted');
});

t.test('the location is rewritten where it is written, not where its text first appears', async (t) => {
  const pipeline = 'filesrc name-location=/opt/a.mp4 location=/opt/a.mp4 ! qtdemux ! avdec_h264 ! videoconvert ! appsink';
  const { file } = checkGstreamerPipeline(pipeline);
  t.same(file, { path: '/opt/a.mp4', offset: 42 });
  t.equal(withLocation(pipeline, file!, '/proc/self/fd/21'), 'filesrc name-location=/opt/a.mp4 location=/proc/self/fd/21 ! qtdemux ! avdec_h264 ! videoconvert ! appsink');
  const spaced = '  filesrc   blocksize=4096  location=/opt/a.mp4 ! qtdemux ! appsink';
  t.equal(withLocation(spaced, checkGstreamerPipeline(spaced).file!, '/proc/self/fd/7'), '  filesrc   blocksize=4096  location=/proc/self/fd/7 ! qtdemux ! appsink', 'spaces before and between the words');
});
