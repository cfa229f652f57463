import t from 'tap';
import { benchFrames } from '../../src/bench/frames.js';
import { compareModels, ferValidation } from '../../src/bench/models.js';
import { demoConfig } from '../../src/config/demo.js';

t.test('without the FER-2013 files (as on a robot): timings on the demo face crops, no accuracy', async (t) => {
  t.equal(ferValidation('/nonexistent/fer2013'), undefined);
  const frames = await benchFrames(demoConfig());
  t.teardown(frames.release);
  const result = await compareModels({ int8: 'models/emotion-mobilenetv2-int8.onnx', fp32: 'models/emotion-mobilenetv2-fp32.onnx' }, undefined, frames.faceCrops);
  t.match(result, { on: 'face crops of the demo video', threads: 1, int8: { faces: 30, msPerFace: Number }, fp32: { faces: 30, msPerFace: Number } });
  t.notOk('accuracy' in result.int8);
  for (const model of [result.int8, result.fp32]) t.ok(model.msPerFace > 0.05 && model.msPerFace < 100, `${model.model}: ${model.msPerFace} ms per face`);
});
