import { render } from 'preact'
import './styles.css'
import { setBearerToken } from './api.js'

// /embed?token=<viewer token>: a read-only viewer locked to the token's project and filter.
const token = new URLSearchParams(location.search).get('token') ?? ''
setBearerToken(token)

const Embed = () => <main class="page embed">{token ? null : <p>No viewer token in the URL.</p>}</main>

render(<Embed />, document.getElementById('app')!)
