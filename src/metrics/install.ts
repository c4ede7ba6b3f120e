import { logFlipRatiosDuringFit } from './fit-logging.js';

// Importing lowbit's metrics makes model.fit report flip ratios, as Larq's quantizer metrics do.
logFlipRatiosDuringFit();
