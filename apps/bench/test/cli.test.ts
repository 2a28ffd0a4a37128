import { buildProgram } from '../src/program.js';
import { toUserMessage } from '../src/errors.js';

describe('vsml cli', () => {
  it('builds a program named vsml', () => {
    expect(buildProgram().name()).toBe('vsml');
  });
  it('formats library errors with name and code', () => {
    const e = Object.assign(new Error('bad file x.idx'), { name: 'DatasetError', code: 'CORRUPT_FILE' });
    expect(toUserMessage(e)).toBe('DatasetError [CORRUPT_FILE]: bad file x.idx');
    expect(toUserMessage('plain')).toBe('plain');
  });
});
