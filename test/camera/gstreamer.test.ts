import t from 'tap';
import { checkGstreamerPipeline } from '../../src/camera/gstreamer.js';

t.test('camera pipelines people use are allowed; filesrc locations are handed back for the folder check', async (t) => {
  for (const pipeline of [
    'libcamerasrc ! video/x-raw,width=640,height=480,framerate=30/1 ! videoconvert ! appsink',
    'nvarguscamerasrc sensor-id=0 ! video/x-raw(memory:NVMM), width=1280, height=720, format=NV12, framerate=30/1 ! nvvidconv ! video/x-raw, format=BGRx ! videoconvert ! video/x-raw, format=BGR ! appsink drop=true',
    'v4l2src device=/dev/video0 ! image/jpeg,width=1280,height=720 ! jpegdec ! videoconvert ! appsink',
    'videotestsrc pattern=ball ! videoconvert ! appsink',
    'v4l2src device=/dev/v4l/by-id/usb-046d_C920-video-index0 ! videoconvert ! appsink',
    // Jetson's hardware decoder names its own node, not a camera's
    'v4l2src device=/dev/video0 ! image/jpeg ! nvv4l2decoder device=/dev/v4l2-nvdec mjpeg=1 ! nvvidconv ! videoconvert ! appsink',
  ]) {
    t.same(checkGstreamerPipeline(pipeline), { files: [] }, pipeline);
  }
  t.same(checkGstreamerPipeline('filesrc location=/opt/emobot/assets/demo.mp4 ! qtdemux ! h264parse ! nvv4l2decoder device=/dev/nvhost-nvdec ! nvvidconv ! appsink'), { files: ['/opt/emobot/assets/demo.mp4'], fileReader: 'qtdemux' });
  // Allowed here; opening checks the reader against the file's container (sources.ts), and decodebin is none.
  t.same(checkGstreamerPipeline('filesrc location=/opt/emobot/assets/demo.mp4 ! decodebin ! videoconvert ! appsink'), { files: ['/opt/emobot/assets/demo.mp4'], fileReader: 'decodebin' });
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
  ];
  for (const [pipeline, reason] of refused) t.match(checkGstreamerPipeline(pipeline).problem, reason, pipeline);
});
