// The kit's snippets in a left-sidebar panel: grouped by area, filtered by a search box, and
// inserted into the active notebook with one click. The catalog comes from the kit's server
// extension (GET <base>/mlaccel/snippets), which reads the snippets/ folder the kit ships.
import {
  ILabShell,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { PageConfig, URLExt } from '@jupyterlab/coreutils';
import { INotebookTracker, NotebookActions } from '@jupyterlab/notebook';
import { ServerConnection } from '@jupyterlab/services';
import { LabIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

interface ISnippet {
  name: string;
  title: string;
  description: string;
  needs: string;
  code: string;
}

interface IArea {
  name: string;
  snippets: ISnippet[];
}

const PANEL_ID = 'mlaccel-snippets';

const icon = new LabIcon({
  name: 'mlaccel-snippets:icon',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><path class="jp-icon3" ' +
    'fill="#616161" d="M9.4 16.6 4.8 12l4.6-4.6L8 6l-6 6 6 6zm5.2 0 4.6-4.6-4.6-4.6L16 6l6 ' +
    '6-6 6z"/></svg>'
});

// The server extension's catalog; where the server has not got it (a JupyterLab running in
// another environment than the kit, as in SageMaker Studio), the copy `mlaccel snippets install`
// wrote beside this extension's files.
async function fetchCatalog(): Promise<IArea[]> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, 'mlaccel', 'snippets');
  let response = await ServerConnection.makeRequest(url, {}, settings);
  if (response.status === 404) {
    const copy = URLExt.join(
      PageConfig.getOption('fullLabextensionsUrl'),
      'mlaccel-snippets',
      'static',
      'catalog.json'
    );
    response = await fetch(copy); // a static file of this page's own server
    if (response.status === 404) {
      throw new Error(
        'the server extension mlaccel.lab is not enabled: run `mlaccel snippets install`'
      );
    }
  }
  const body = await response.json();
  if (!response.ok) {
    throw new Error(body.message ?? `GET ${url}: ${response.status}`);
  }
  return body.areas as IArea[];
}

// The active cell when it is an empty code cell, else a new cell below it, holds the code.
function insertSnippet(tracker: INotebookTracker, snippet: ISnippet): boolean {
  const panel = tracker.currentWidget;
  if (!panel) {
    return false;
  }
  const notebook = panel.content;
  const active = notebook.activeCell;
  const reuse =
    active !== null &&
    active.model.type === 'code' &&
    active.model.sharedModel.getSource().trim() === '';
  if (!reuse) {
    NotebookActions.insertBelow(notebook);
  }
  notebook.activeCell?.model.sharedModel.setSource(snippet.code.replace(/\n$/, ''));
  return true;
}

function matches(snippet: ISnippet, area: string, words: string[]): boolean {
  const text = [snippet.title, snippet.description, snippet.needs, area, snippet.code]
    .join(' ')
    .toLowerCase();
  return words.every(word => text.includes(word));
}

class SnippetsPanel extends Widget {
  private readonly search: HTMLInputElement;
  private readonly list: HTMLElement;
  private readonly status: HTMLElement;
  private areas: IArea[] = [];

  constructor(private readonly tracker: INotebookTracker) {
    super();
    this.id = PANEL_ID;
    this.addClass('mlaccel-Snippets');
    this.title.icon = icon;
    this.title.caption = 'Snippets of the mlaccel kit';
    this.search = document.createElement('input');
    this.search.type = 'search';
    this.search.placeholder = 'Search snippets';
    this.search.className = 'mlaccel-Snippets-search jp-mod-styled';
    this.search.addEventListener('input', () => this.render());
    this.status = document.createElement('p');
    this.status.className = 'mlaccel-Snippets-status';
    this.list = document.createElement('div');
    this.list.className = 'mlaccel-Snippets-list';
    const heading = document.createElement('h2');
    heading.className = 'mlaccel-Snippets-heading';
    heading.textContent = 'Snippets';
    this.node.append(heading, this.search, this.status, this.list);
  }

  async load(): Promise<void> {
    this.status.textContent = 'Loading…';
    try {
      this.areas = await fetchCatalog();
      this.status.textContent = '';
    } catch (error) {
      this.status.textContent = `Cannot list the snippets: ${(error as Error).message}`;
    }
    this.render();
  }

  private render(): void {
    const words = this.search.value.toLowerCase().split(/\s+/).filter(Boolean);
    this.list.replaceChildren();
    let shown = 0;
    for (const area of this.areas) {
      const found = area.snippets.filter(s => matches(s, area.name, words));
      if (!found.length) {
        continue;
      }
      const section = document.createElement('section');
      section.className = 'mlaccel-Snippets-area';
      section.dataset.area = area.name;
      const title = document.createElement('h3');
      title.textContent = area.name.replace(/_/g, ' ');
      section.append(title, ...found.map(s => this.entry(s)));
      this.list.append(section);
      shown += found.length;
    }
    if (this.areas.length && !shown) {
      this.status.textContent = 'No snippet matches the search.';
    } else if (this.areas.length) {
      this.status.textContent = '';
    }
  }

  private entry(snippet: ISnippet): HTMLElement {
    const item = document.createElement('div');
    item.className = 'mlaccel-Snippets-item';
    item.dataset.name = snippet.name;
    const button = document.createElement('button');
    button.className = 'mlaccel-Snippets-insert';
    button.title = 'Insert into the active notebook';
    button.textContent = snippet.title;
    button.addEventListener('click', () => {
      if (!insertSnippet(this.tracker, snippet)) {
        this.status.textContent = 'Open a notebook to insert a snippet.';
      }
    });
    const description = document.createElement('p');
    description.className = 'mlaccel-Snippets-description';
    description.textContent = snippet.description;
    const needs = document.createElement('p');
    needs.className = 'mlaccel-Snippets-needs';
    needs.textContent = `Needs: ${snippet.needs}`;
    item.append(button, description, needs);
    return item;
  }
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'mlaccel-snippets:plugin',
  description: 'The mlaccel kit snippets in a sidebar, inserted into notebooks.',
  autoStart: true,
  requires: [ILabShell, INotebookTracker],
  activate: (app: JupyterFrontEnd, shell: ILabShell, tracker: INotebookTracker) => {
    const panel = new SnippetsPanel(tracker);
    shell.add(panel, 'left', { rank: 600 });
    void panel.load();
  }
};

export default plugin;
