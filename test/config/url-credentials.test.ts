import t from 'tap';
import { urlCredentials } from '../../src/config/url-credentials.js';

t.test('parameters named for a credential, as a server decodes their names', async (t) => {
  const cases: [url: string, word: string | undefined][] = [
    ['https://h/v1?api_key=S', 'key'],
    ['https://h/v1?apiKey=S', 'key'],
    ['https://h/v1?KEY=S', 'key'],
    ['https://h/v1?apikey_v2=S', 'key'],
    ['https://h/v1?api_ke%79=S', 'key'],
    ['https://h/v1?%6Bey=S', 'key'],
    ['https://h/v1?api_key[]=S', 'key'],
    ['https://h/v1?x=1&access_token=S', 'token'],
    ['wss://h/mqtt?X-Amz-Security-Token=S', 'token'],
    ['https://h/v1?sv=2024&sig=S', 'sig'],
    ['https://h/v1?pass=S', 'pass'],
    ['https://h/v1?jwt=S', 'jwt'],
    ['https://h/v1#access_token=S', 'token'],
    ['https://h/v1?a=1;password=S', 'password'],
    ['https://h/openai/deployments/gpt?api-version=2024-02-01', undefined],
    ['ws://broker:9001/mqtt?clientid=kitchen', undefined],
    ['https://h/v1?oauth=0&noauth=1&design=a&signal=b&keyboard=c', undefined],
    ['https://h/v1?api_key', undefined],
    ['https://h/v1?%E0%A4%A=1', undefined],
  ];
  for (const [url, word] of cases) t.equal(urlCredentials(url).first, word, url);
});

t.test('a credential is masked up to the next & # or space, past ; and ?, and nothing else is', async (t) => {
  t.equal(urlCredentials('https://h/v1?sv=2024&sig=SAS&x=1').masked, 'https://h/v1?sv=2024&sig=***&x=1');
  t.equal(urlCredentials('https://h/v1?api_key=sk-abc;REST?MORE#frag').masked, 'https://h/v1?api_key=***#frag');
  t.equal(urlCredentials('see https://a/?token=T1 and https://b/?key=T2 now').masked, 'see https://a/?token=*** and https://b/?key=*** now');
  t.equal(urlCredentials('no url here; a = b & c').masked, 'no url here; a = b & c');
  t.equal(urlCredentials('https://h/v1?sk-proj-0ld/key=1').masked, 'https://h/v1?***=***', 'a name that is more than a plain word is masked too');
  t.same(urlCredentials('https://h/v1?api-version=1'), { masked: 'https://h/v1?api-version=1' });
});
