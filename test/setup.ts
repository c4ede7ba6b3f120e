// Test-wide setup: tfjs prints a "use tfjs-node" banner and other notes through its logger unless
// PROD (or IS_TEST) is set. IS_TEST would also switch on tfjs's kernel leak check, which misreads
// the inputs a custom gradient saves on the wasm backend as leaks, so PROD it is.
import * as tf from '@tensorflow/tfjs-core';

tf.env().set('PROD', true);
